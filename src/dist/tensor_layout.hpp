// Internal: fingerprints of tensor lists, compared across ranks before any collective whose
// buffer sizes depend on them (a mismatch would otherwise hang or pair the wrong tensors).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace nucseg::dist {

// Count, and per tensor: dtype, shape and requires_grad.
uint64_t tensor_layout_fingerprint(const std::vector<torch::Tensor>& tensors);
// The same plus every parameter's and buffer's name.
uint64_t module_layout_fingerprint(const torch::nn::Module& module);

}  // namespace nucseg::dist
