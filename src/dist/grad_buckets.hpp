// Internal to GradientSync: fused gradient buckets and how one bucket crosses MPI.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <c10/core/Event.h>
#include <c10/core/Stream.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nucseg/dist/grad_sync.hpp"

namespace nucseg::dist::detail {

// One fused buffer on the parameters' device: the flattened gradients of its parameters, then
// one "had a gradient" flag per parameter. The flags are summed with the gradients, so after
// the reduction they count the ranks that contributed, at the cost of a few bytes.
struct Bucket {
  torch::Tensor flat;   // on the device, contiguous
  torch::Tensor host;   // staged only: the host copy MPI reduces (pinned for CUDA)
  torch::Tensor flags;  // host view of the reduced flags (flat's, host's or a copy's tail)
  int64_t grad_numel = 0;
  std::vector<size_t> slots;
  MPI_Datatype type = MPI_FLOAT;
  int pending = 0;  // parameters of this step still without a gradient
  // Device buckets: recorded on the copying thread's stream when the last gradient is in.
  std::unique_ptr<c10::Event> filled;
};

struct Slot {
  size_t bucket = 0;
  int64_t offset = 0;  // into the bucket's flat buffer
  int64_t numel = 0;
  int64_t flag = 0;  // index of its flag in the flat buffer
  bool ready = false;
};

// The buckets of `params` (trainable ones, in their order) as plan_gradient_buckets lays them
// out, allocated on the parameters' device for `transport` (in_place or staged, resolved).
struct BucketSet {
  std::vector<Bucket> buckets;
  std::vector<Slot> slots;  // one per parameter
  c10::Device device = c10::Device(c10::kCPU);
};
BucketSet make_buckets(const std::vector<torch::Tensor>& params, double bucket_mb, GradientSync::Transport transport);

// automatic -> in_place or staged for buckets on `device`; refuses in_place device buckets
// without CUDA-aware MPI.
GradientSync::Transport resolve_transport(GradientSync::Transport requested, c10::Device device);

// Sets a parameter's flag (1: it had a gradient, 0: it did not) in the flat buffer.
void set_flag(Bucket& bucket, int64_t index, double value);
// A reduced flag (valid once the bucket's reduction is done).
double reduced_flag(const Bucket& bucket, int64_t index);

// Sums one bucket over the ranks of `comm` and divides its gradients by `ranks` (1: left as
// sums), by `transport`; for a device bucket on `side` (a stream of the device), after bucket.filled,
// and returns once the result is in bucket.flat. Any thread; returns the seconds spent.
double reduce_bucket(Bucket& bucket, MPI_Comm comm, int ranks, GradientSync::Transport transport,
                     const std::optional<c10::Stream>& side);

}  // namespace nucseg::dist::detail
