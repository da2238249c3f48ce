#include "nucseg/infer/network.hpp"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstring>
#include <optional>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::infer {
namespace {

constexpr const char* kPrecisionKey = "infer.precision";

// LibTorch 2.4 made autocast's switches per device type and deprecated the CUDA-only ones
// (removal announced); 1.13 has only those.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void set_cuda_autocast(bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(at::kCUDA, on);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
}
at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
#else
bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
void set_cuda_autocast(bool on, at::ScalarType dtype) {
  at::autocast::set_enabled(on);
  at::autocast::set_autocast_gpu_dtype(dtype);
}
at::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_gpu_dtype(); }
#endif

// CUDA autocast on this thread for the scope (thread-local in LibTorch), restored after.
class CudaAutocast final {
 public:
  explicit CudaAutocast(at::ScalarType dtype) : was_enabled_(cuda_autocast_enabled()), previous_(cuda_autocast_dtype()) {
    set_cuda_autocast(true, dtype);
    at::autocast::increment_nesting();
  }
  ~CudaAutocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_cuda_autocast(was_enabled_, previous_);
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool was_enabled_;
  at::ScalarType previous_;
};

// A host buffer of at least `numel` floats, reused across calls; pinned for a CUDA device.
torch::Tensor host_buffer(torch::Tensor& buffer, int64_t numel, const torch::Device& device) {
  if (!buffer.defined() || buffer.numel() < numel)
    buffer = torch::empty({numel}, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(device.is_cuda()));
  return buffer.narrow(0, 0, numel);
}

struct NetworkStage {
  std::shared_ptr<model::UNetImpl> net;
  int outputs = 3;  // class logits + extra outputs
  torch::Device device = torch::kCPU;
  bool staged = false;
  std::optional<at::ScalarType> autocast;  // CUDA, lower precision
  torch::Tensor input, output;             // staged: the host buffers

  void run(const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    torch::NoGradGuard no_grad;
    const std::vector<int64_t> shape = {n, 3, h, w};
    // from_blob does not copy; the driver keeps `batch` alive for the call.
    auto tiles = torch::from_blob(const_cast<float*>(batch.data()), shape, torch::kFloat32);
    torch::Tensor x = tiles;
    if (staged) {
      auto in = host_buffer(input, tiles.numel(), device).view(shape);
      in.copy_(tiles);
      // Pinned -> device is asynchronous; the forward below is queued after it on the same stream.
      x = in.to(device, /*non_blocking=*/true);
    }
    torch::Tensor y;
    {
      std::optional<CudaAutocast> scope;
      if (autocast) scope.emplace(*autocast);
      y = net->forward(x);
    }
    if (y.size(0) != n || y.size(1) != outputs || y.size(2) != h || y.size(3) != w)
      throw_runtime("the network returned logits of an unexpected shape");
    y = y.to(torch::kFloat32);
    logits.resize(static_cast<size_t>(y.numel()));
    if (staged) {
      // Device -> pinned host, waited for (a blocking copy): the buffer is read right below.
      auto out = host_buffer(output, y.numel(), device).view(y.sizes());
      out.copy_(y);
      std::memcpy(logits.data(), out.data_ptr<float>(), logits.size() * sizeof(float));
    } else {
      y = y.contiguous();
      std::memcpy(logits.data(), y.data_ptr<float>(), logits.size() * sizeof(float));
    }
  }
};

}  // namespace

std::string resolve_precision(const std::string& requested, const std::string& device_kind, bool fold_batchnorm,
                              bool deterministic, bool cpu_native_bfloat16) {
  const bool gpu = device_kind != "cpu";
  if (deterministic && requested != "auto" && requested != "float32")
    throw_config(kPrecisionKey, requested + " is not reproducible across machines: use auto or float32 with "
                                            "infer.deterministic");
  if (!gpu && requested == "float16")
    throw_config(kPrecisionKey, "float16 is for GPUs (infer.device = cuda); on a CPU use float32 or bfloat16");
  if (!gpu && requested == "bfloat16" && !fold_batchnorm)
    throw_config(kPrecisionKey, "bfloat16 runs the folded inference form: set infer.fold_batchnorm = true");
  if (requested != "auto") return requested;
  if (gpu || deterministic) return "float32";
  return fold_batchnorm && cpu_native_bfloat16 ? "bfloat16" : "float32";
}

void place_network(model::UNetImpl& net, const NetworkOptions& options) {
  const torch::Device device(options.device);
  net.eval();
  net.to(device);
  if (options.fold_batchnorm) net.fold_batchnorm();
  if (device.is_cpu()) {
    net.set_decoder_bfloat16(options.precision == "bfloat16");
    net.set_encoder_bfloat16(options.precision == "bfloat16");
  } else {
    // fold_batchnorm picks the adjoint form, measured fastest on oneDNN; a GPU has cuDNN's own.
    net.set_upsampling(model::Upsampling::torch);
  }
}

TileModel network_tile_model(std::shared_ptr<model::UNetImpl> net, int outputs, const NetworkOptions& options) {
  auto stage = std::make_shared<NetworkStage>();
  stage->net = std::move(net);
  stage->outputs = outputs;
  stage->device = torch::Device(options.device);
  stage->staged = options.staged || !stage->device.is_cpu();
  if (!stage->device.is_cpu() && options.precision == "bfloat16") stage->autocast = at::kBFloat16;
  if (!stage->device.is_cpu() && options.precision == "float16") stage->autocast = at::kHalf;
  return [stage](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    stage->run(batch, n, h, w, logits);
  };
}

}  // namespace nucseg::infer
