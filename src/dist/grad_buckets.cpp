#include "grad_buckets.hpp"

#include <c10/core/StreamGuard.h>

#include <chrono>
#include <climits>
#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/dist/device.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::dist {

using Transport = GradientSync::Transport;

std::vector<BucketEntry> plan_gradient_buckets(const std::vector<torch::Tensor>& params, double bucket_mb) {
  if (!(bucket_mb > 0)) throw_runtime("GradientSync: bucket_mb must be > 0 (MiB per fused gradient bucket)");
  std::vector<size_t> trainable;
  for (size_t k = 0; k < params.size(); ++k)
    if (params[k].requires_grad()) trainable.push_back(k);
  std::vector<BucketEntry> entries(trainable.size());
  const double capacity = bucket_mb * 1024.0 * 1024.0;
  double filled = 0;
  int bucket = -1;
  int64_t offset = 0;
  torch::Dtype dtype = torch::kFloat;
  for (size_t j = trainable.size(); j-- > 0;) {  // reverse registration order: backward's order
    const auto& p = params[trainable[j]];
    if (p.scalar_type() != torch::kFloat && p.scalar_type() != torch::kDouble)
      throw_runtime("GradientSync: parameter #" + std::to_string(trainable[j]) + " has dtype " +
                    std::string(c10::toString(p.scalar_type())) + "; only float and double gradients are reduced");
    const double bytes = static_cast<double>(p.numel()) * static_cast<double>(p.element_size());
    if (bucket < 0 || p.scalar_type() != dtype || (filled > 0 && filled + bytes > capacity)) {
      ++bucket;
      filled = 0;
      offset = 0;
      dtype = p.scalar_type();
    }
    entries[j] = {bucket, offset, p.numel()};
    offset += p.numel();
    filled += bytes;
  }
  return entries;
}

namespace detail {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename T>
void divide(T* data, int64_t count, T ranks) {
  for (int64_t i = 0; i < count; ++i) data[i] /= ranks;
}

// MPI_Allreduce(SUM) in place on `buffer` (host memory, or device memory for CUDA-aware MPI),
// in pieces that fit MPI's int counts.
void allreduce_sum(const torch::Tensor& buffer, MPI_Datatype type, MPI_Comm comm) {
  const int64_t total = buffer.numel();
  const size_t element = buffer.element_size();
  char* base = static_cast<char*>(buffer.data_ptr());
  for (int64_t offset = 0; offset < total;) {
    const int count = static_cast<int>(std::min<int64_t>(total - offset, INT_MAX / 2));
    NUCSEG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, base + offset * element, count, type, MPI_SUM, comm));
    offset += count;
  }
}

void divide_gradients(Bucket& b, int ranks) {
  if (ranks == 1) return;
  if (b.flat.is_cpu()) {
    if (b.flat.scalar_type() == torch::kFloat)
      divide(b.flat.data_ptr<float>(), b.grad_numel, static_cast<float>(ranks));
    else
      divide(b.flat.data_ptr<double>(), b.grad_numel, static_cast<double>(ranks));
    return;
  }
  b.flat.narrow(0, 0, b.grad_numel).div_(ranks);  // on the current (side) stream
}

}  // namespace

Transport resolve_transport(Transport requested, c10::Device device) {
  const bool cuda_aware = device.is_cuda() && mpi_cuda_aware();
  if (requested == Transport::automatic) return device.is_cpu() || cuda_aware ? Transport::in_place : Transport::staged;
  if (requested == Transport::in_place && !device.is_cpu() && !cuda_aware)
    throw_runtime("GradientSync: in-place reduction of " + device.str() +
                  " buckets needs an MPI that reads device memory (CUDA-aware); this one is not");
  return requested;
}

BucketSet make_buckets(const std::vector<torch::Tensor>& params, double bucket_mb, Transport transport) {
  BucketSet set;
  if (!params.empty()) set.device = params.front().device();
  for (const auto& p : params)
    if (p.device() != set.device)
      throw_runtime("GradientSync: parameters on " + set.device.str() + " and " + p.device().str() +
                    "; all must be on one device");
  const auto plan = plan_gradient_buckets(params, bucket_mb);
  int count = 0;
  for (const auto& e : plan) count = std::max(count, e.bucket + 1);
  set.buckets.resize(static_cast<size_t>(count));
  set.slots.resize(params.size());
  std::vector<torch::Dtype> dtypes(set.buckets.size(), torch::kFloat);
  for (size_t k = params.size(); k-- > 0;) {  // a bucket's slots in the order they fill
    const auto& e = plan[k];
    Bucket& b = set.buckets[static_cast<size_t>(e.bucket)];
    set.slots[k].bucket = static_cast<size_t>(e.bucket);
    set.slots[k].offset = e.offset;
    set.slots[k].numel = e.numel;
    b.grad_numel += e.numel;
    b.slots.push_back(k);
    dtypes[static_cast<size_t>(e.bucket)] = params[k].scalar_type();
  }
  const bool staged = transport == Transport::staged;
  for (size_t i = 0; i < set.buckets.size(); ++i) {
    Bucket& b = set.buckets[i];
    const auto options = torch::TensorOptions().dtype(dtypes[i]);
    const int64_t flags = static_cast<int64_t>(b.slots.size());
    b.type = dtypes[i] == torch::kFloat ? MPI_FLOAT : MPI_DOUBLE;
    b.flat = torch::zeros({b.grad_numel + flags}, options.device(set.device));
    for (int64_t j = 0; j < flags; ++j) set.slots[b.slots[static_cast<size_t>(j)]].flag = b.grad_numel + j;
    // Pinned host memory lets the device copy it asynchronously; only CUDA LibTorch has it.
    if (staged) b.host = torch::zeros({b.grad_numel + flags}, options.pinned_memory(set.device.is_cuda()));
    if (staged)
      b.flags = b.host.narrow(0, b.grad_numel, flags);
    else if (set.device.is_cpu())
      b.flags = b.flat.narrow(0, b.grad_numel, flags);
    else
      b.flags = torch::zeros({flags}, options);
    if (!set.device.is_cpu()) b.filled = std::make_unique<c10::Event>(set.device.type());
  }
  return set;
}

void set_flag(Bucket& bucket, int64_t index, double value) {
  if (!bucket.flat.is_cpu()) {
    bucket.flat.narrow(0, index, 1).fill_(value);  // on the copying thread's stream, like the gradient
  } else if (bucket.flat.scalar_type() == torch::kFloat) {
    bucket.flat.data_ptr<float>()[index] = static_cast<float>(value);
  } else {
    bucket.flat.data_ptr<double>()[index] = value;
  }
}

double reduced_flag(const Bucket& bucket, int64_t index) {
  const int64_t i = index - bucket.grad_numel;
  if (bucket.flags.scalar_type() == torch::kFloat) return bucket.flags.data_ptr<float>()[i];
  return bucket.flags.data_ptr<double>()[i];
}

double reduce_bucket(Bucket& b, MPI_Comm comm, int ranks, Transport transport, const std::optional<c10::Stream>& side) {
  const auto start = std::chrono::steady_clock::now();
  const bool device = !b.flat.is_cpu();
  if (device && !side) throw_runtime("GradientSync: a device bucket needs a side stream");
  std::optional<c10::StreamGuard> on_side;
  if (device) {
    on_side.emplace(*side);
    b.filled->block(*side);  // the side stream waits for the copies into the bucket
  }
  if (transport == Transport::staged) {
    b.host.copy_(b.flat, /*non_blocking=*/device);  // one device-to-host copy (pinned: asynchronous)
    if (device) side->synchronize();
    allreduce_sum(b.host, b.type, comm);
    b.flat.copy_(b.host, /*non_blocking=*/device);
  } else {
    if (device) side->synchronize();  // MPI reads device memory: the gradients must be in
    allreduce_sum(b.flat, b.type, comm);
  }
  divide_gradients(b, ranks);
  if (device && transport == Transport::in_place) b.flags.copy_(b.flat.narrow(0, b.grad_numel, b.flags.numel()));
  if (device) side->synchronize();  // finish() reads bucket.flat on another stream
  return seconds_since(start);
}

}  // namespace detail
}  // namespace nucseg::dist
