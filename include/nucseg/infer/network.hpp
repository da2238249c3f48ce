// The network stage of nucseg_infer: a checkpoint's U-Net placed on infer.device, computing in
// infer.precision, fed tile batches by the tiler. Torch-free (the model is forward-declared),
// so the driver and the tool compile without the torch headers.
//
// On the CPU the tiler's batch is read in place and the logits copied out, as always. On a
// device (CUDA) each batch goes through reusable host buffers: the tiles are copied into a
// pinned buffer and from there to the device asynchronously, the logits come back into a
// second pinned buffer (pinned memory is what lets the GPU's copy engines transfer without a
// bounce buffer). `staged` forces that path on the CPU, where the buffers are plain host
// memory, so tests run it without a GPU. Only the CPU paths have run; see docs/hpc.md.
#pragma once

#include <memory>
#include <string>

#include "nucseg/infer/tiler.hpp"

namespace nucseg::model {
class UNetImpl;
}

namespace nucseg::infer {

struct NetworkOptions {
  std::string device = "cpu";         // "cpu", "cuda", "cuda:1" (what dist::select_device chose)
  std::string precision = "float32";  // resolved: float32, bfloat16, float16 (resolve_precision)
  bool fold_batchnorm = true;
  bool staged = false;  // host buffers on the CPU too (tests); always on for a device
};

// infer.precision for a rank computing on `device_kind` ("cpu" or "cuda"): "auto" becomes
// float32 or bfloat16 (CPU: bfloat16 when `cpu_native_bfloat16`, BatchNorm is folded and the
// run is not deterministic; GPU: float32); "float16" on a CPU, bfloat16 on a CPU without
// folding, and anything but float32 with `deterministic` are Error(config) naming
// infer.precision.
std::string resolve_precision(const std::string& requested, const std::string& device_kind, bool fold_batchnorm,
                              bool deterministic, bool cpu_native_bfloat16);

// Puts `net` (loaded on the CPU, in eval mode) in its inference form on options.device: moved
// there, BatchNorm folded when asked (after the move, so the folded biases are there too), and
// on a CPU in bfloat16 the encoder and decoder cast (UNetImpl::set_encoder_bfloat16,
// set_decoder_bfloat16). On CUDA the decoder
// uses torch's transposed convolution (cuDNN; the adjoint form is a CPU/oneDNN choice).
void place_network(model::UNetImpl& net, const NetworkOptions& options);

// The tiler's model for `net` (placed by place_network with the same options): N x 3 x H x W
// float tiles in, N x outputs x H x W float32 logits out (outputs: the classes + a distance
// head's channel), with CUDA autocast in options.precision on a GPU. Not reentrant: call it from
// one thread at a time (it reuses its host buffers).
TileModel network_tile_model(std::shared_ptr<model::UNetImpl> net, int outputs, const NetworkOptions& options);

}  // namespace nucseg::infer
