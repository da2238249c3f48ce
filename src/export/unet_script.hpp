// Private to src/export: the U-Net's inference form written as TorchScript. The network's
// structure is read from the loaded model (its Keras-named submodules in registration order,
// their convolution options), not restated here, so an export follows the model it is given;
// tests/export compares the exported forward with UNet::forward on the same tile.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include "nucseg/model/unet.hpp"

namespace nucseg::exporter {

// Registers the folded float32 weights of `net` (eval form; its BatchNorm is folded here, the
// model itself is not changed) as parameters of `module` and defines `forward` on it.
// Throws Error(runtime) when the model's structure is not the one this writer knows (e.g. a
// folded or bfloat16 model, or a missing encoder tap).
void define_unet_forward(torch::jit::Module& module, model::UNetImpl& net);

}  // namespace nucseg::exporter
