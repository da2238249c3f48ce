// Keeping the model replicas of a data-parallel job identical: the initial broadcast, the
// gradient all-reduce on fused buckets overlapped with backward, and checksums to verify.
//
// GradientSync follows Horovod / PyTorch DDP. The trainable parameters are packed, in reverse
// registration order (backward produces their gradients roughly in that order), into buckets
// of about `bucket_mb` MiB. A hook on each parameter copies its gradient into its bucket as
// soon as autograd produces it; a full bucket is handed to a communication thread that runs
// MPI_Allreduce on it while backward goes on. finish() waits for the last bucket and writes
// the mean over ranks into every param.grad. Buckets are always reduced in the same order on
// every rank (a bucket waits for the ones before it), so ranks never cross collectives.
//
// Semantics: after finish(), param.grad = (sum over ranks of that rank's param.grad) / ranks,
// where a rank whose param got no gradient this step (unused branch) counts as zero; a param
// that got no gradient on any rank keeps an undefined grad, as on one rank. Parameters with
// requires_grad = false when the GradientSync is built are left out (frozen); build a new
// GradientSync when the set of trainable parameters changes. Gradients are reduced on host
// memory (CUDA gradients are copied to the host), in float or double.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "nucseg/dist/world.hpp"

namespace nucseg::dist {

class GradientSync final {
 public:
  struct Stats {
    double allreduce_seconds = 0;  // time inside MPI_Allreduce, summed over buckets
    double wait_seconds = 0;       // time finish() blocked on communication (not overlapped)
    double bytes = 0;              // bytes reduced per rank this step
    int buckets = 0;
    int early_buckets = 0;  // handed to communication during backward, before finish()
  };

  // `params`: in the same order on every rank (e.g. module.parameters()); checked at
  // construction. `overlap` = false reduces every bucket in finish() on the calling thread
  // (what also happens when MPI lacks MPI_THREAD_MULTIPLE). With one rank it is a no-op.
  GradientSync(const World& world, std::vector<torch::Tensor> params, double bucket_mb, bool overlap = true);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void begin_step();  // before backward
  void finish();      // after backward, before the optimizer step
  Stats last_stats() const { return stats_; }

  int bucket_count() const;
  bool overlapping() const { return thread_ != nullptr; }

 private:
  struct State;
  void on_grad(size_t slot, const torch::Tensor& grad);
  void launch_ready_buckets();  // in order; caller holds the state's mutex

  const World& world_;
  std::vector<torch::Tensor> params_;  // trainable ones only
  std::vector<unsigned> hook_ids_;
  std::shared_ptr<State> state_;  // shared with the communication thread
  std::unique_ptr<std::thread> thread_;
  bool armed_ = false;
  Stats stats_;
};

// Copies rank 0's parameters and buffers to every rank (the module structure must match;
// checked). Call once after building the model and before the optimizer sees it.
void broadcast_parameters(const World& world, torch::nn::Module& module);
// Rank 0's buffers (BatchNorm running statistics) onto every rank. Without synchronised
// BatchNorm each rank's running statistics drift apart; the trainer aligns them at every
// epoch's end, so validation on every rank scores the model rank 0 saves, and a resumed run
// (whose ranks all load rank 0's checkpoint) continues exactly as an uninterrupted one.
void broadcast_buffers(const World& world, torch::nn::Module& module);

// FNV-1a over the bytes of every parameter, in registration order (buffers excluded: BatchNorm
// statistics are per rank by default).
uint64_t parameter_checksum(const torch::nn::Module& module);

// True on every rank when all ranks hold bit-identical parameters.
bool parameters_identical(const World& world, const torch::nn::Module& module);

}  // namespace nucseg::dist
