// The initial broadcast of the model and the cross-rank parameter checksum.
#include <climits>
#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "tensor_layout.hpp"

namespace nucseg::dist {
namespace {

uint64_t mix(uint64_t hash, int64_t value) { return fs::fnv1a(&value, sizeof value, hash); }

uint64_t mix_tensor(uint64_t hash, const torch::Tensor& t) {
  hash = mix(hash, static_cast<int64_t>(t.scalar_type()));
  hash = mix(hash, t.dim());
  for (int64_t size : t.sizes()) hash = mix(hash, size);
  return mix(hash, t.requires_grad() ? 1 : 0);
}

constexpr uint64_t fnv_basis = fs::kFnvOffsetBasis;

// Rank 0's bytes of `t` onto every rank, in place.
void broadcast_tensor(const World& world, torch::Tensor& t) {
  const bool direct = t.is_contiguous() && t.device().is_cpu();
  torch::Tensor host = direct ? t : t.contiguous().cpu();
  char* data = static_cast<char*>(host.data_ptr());
  const int64_t bytes = host.numel() * static_cast<int64_t>(host.element_size());
  for (int64_t offset = 0; offset < bytes;) {
    const int count = static_cast<int>(std::min<int64_t>(bytes - offset, INT_MAX));
    NUCSEG_MPI_CHECK(MPI_Bcast(data + offset, count, MPI_BYTE, 0, world.comm()));
    offset += count;
  }
  if (!direct) t.copy_(host);
}

}  // namespace

uint64_t tensor_layout_fingerprint(const std::vector<torch::Tensor>& tensors) {
  uint64_t hash = mix(fnv_basis, static_cast<int64_t>(tensors.size()));
  for (const auto& t : tensors) hash = mix_tensor(hash, t);
  return hash;
}

uint64_t module_layout_fingerprint(const torch::nn::Module& module) {
  uint64_t hash = fnv_basis;
  const auto parameters = module.named_parameters();
  const auto buffers = module.named_buffers();
  for (const auto* dict : {&parameters, &buffers}) {
    hash = mix(hash, static_cast<int64_t>(dict->size()));
    for (const auto& item : *dict) {
      hash = fs::fnv1a(item.key().data(), item.key().size(), hash);
      hash = mix_tensor(hash, item.value());
    }
  }
  return hash;
}

void broadcast_parameters(const World& world, torch::nn::Module& module) {
  if (!all_equal(world, module_layout_fingerprint(module)))
    throw_runtime("broadcast_parameters: the model differs across ranks (parameter or buffer names, shapes, "
                  "dtypes or frozen flags); every rank must build the same model from the same config");
  if (world.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) broadcast_tensor(world, p);
  for (auto& b : module.buffers()) broadcast_tensor(world, b);
}

void broadcast_buffers(const World& world, torch::nn::Module& module) {
  if (world.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& b : module.buffers()) broadcast_tensor(world, b);
}

uint64_t parameter_checksum(const torch::nn::Module& module) {
  uint64_t hash = fnv_basis;
  for (const auto& p : module.parameters()) {
    const torch::Tensor host = p.detach().contiguous().cpu();
    hash = fs::fnv1a(host.data_ptr(), static_cast<size_t>(host.numel()) * host.element_size(), hash);
  }
  return hash;
}

bool parameters_identical(const World& world, const torch::nn::Module& module) {
  return all_equal(world, parameter_checksum(module));
}

}  // namespace nucseg::dist
