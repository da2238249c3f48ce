// Keeping the model replicas of a data-parallel job identical: the initial broadcast, the
// gradient all-reduce on fused buckets overlapped with backward, and checksums to verify.
//
// GradientSync follows Horovod / PyTorch DDP. The trainable parameters are packed, in reverse
// registration order (backward produces their gradients roughly in that order), into buckets
// of about `bucket_mb` MiB. Each param.grad is its part of a bucket's memory (PyTorch DDP's
// gradient-as-bucket-view; a tensor on the bucket's storage, not an autograd view, so the
// optimizer's zero_grad() may detach it), so autograd accumulates straight into the bucket and the reduced
// mean is param.grad with no copy either way: a hook on each parameter's gradient accumulator
// marks its part ready once autograd has added the step's gradient; a full bucket is handed to
// a communication thread that runs MPI_Allreduce on it while backward goes on. finish() waits
// for the last bucket. Buckets are always reduced in the same order on every rank (a bucket
// waits for the ones before it), so ranks never cross collectives.
//
// Semantics: after finish(), param.grad = (sum over ranks of that rank's param.grad) / ranks
// (Mean::divide; with Mean::prescaled the sum of the gradients of the prescaled losses, the
// same mean), where a rank whose param got no gradient this step (unused branch) counts as zero; a param
// that got no gradient on any rank keeps an undefined grad, as on one rank. Parameters with
// requires_grad = false when the GradientSync is built are left out (frozen); build a new
// GradientSync when the set of trainable parameters changes. Gradients are float or double.
// A param.grad that is not on the bucket (the first step, or one set to none or replaced
// between steps) is copied into the bucket once and replaced by the bucket's part; an in-place
// zero_grad() keeps it there. Between begin_step() and finish() param.grad holds partly reduced
// values: read it after finish().
//
// Where the buckets live and how they cross MPI (Transport): the buckets are on the
// parameters' device (all parameters on one device), so gradients never leave it to be packed. A host
// bucket is reduced in place. A device bucket (CUDA) is reduced in place, straight from device
// memory, when the MPI library says at run time it is CUDA-aware (mpi_cuda_aware()); otherwise
// it is staged: one asynchronous device-to-host copy of the whole bucket into pinned memory on
// a side stream, MPI_Allreduce on the host, one copy back. The communication thread waits for
// an event recorded when the bucket's last gradient was accumulated into it, so backward never blocks on
// a transfer. Only the host paths have run (the staged one forced on host buckets in tests).
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
  enum class Transport {
    automatic,  // host buckets: in_place; device buckets: in_place with CUDA-aware MPI, else staged
    in_place,   // MPI_Allreduce on the bucket's own memory (a device bucket needs CUDA-aware MPI)
    staged,     // bucket -> host buffer (pinned for CUDA) -> MPI_Allreduce -> bucket
  };

  // How the sum over ranks becomes the mean. divide: each bucket is divided by the ranks after
  // its reduction (one more pass over the gradients). prescaled: the caller multiplies its loss
  // by loss_scale() (1 / ranks) before backward, so the reduced sum is already the mean, with
  // no pass of its own; a gradient that param.grad held before begin_step() is then summed, not
  // averaged, so zero the gradients before each step (as the trainer's optimizer does). For
  // ranks a power of two the two give the same bits.
  enum class Mean { divide, prescaled };

  struct Stats {
    double allreduce_seconds = 0;  // time reducing buckets (MPI_Allreduce, and staging copies), summed
    double wait_seconds = 0;       // time finish() blocked on communication (not overlapped)
    double bytes = 0;              // bytes reduced per rank this step
    int buckets = 0;
    int early_buckets = 0;  // handed to communication during backward, before finish()
  };

  // `params`: in the same order on every rank (e.g. module.parameters()); checked at
  // construction. `overlap` = false reduces every bucket in finish() on the calling thread
  // (what also happens when MPI lacks MPI_THREAD_MULTIPLE). With one rank and the automatic
  // transport it is a no-op; a transport named explicitly runs the whole path even on one rank
  // (tests use it to exercise packing and staging without mpiexec).
  GradientSync(const World& world, std::vector<torch::Tensor> params, double bucket_mb, bool overlap = true,
               Transport transport = Transport::automatic, Mean mean = Mean::divide);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void begin_step();  // before backward
  void finish();      // after backward, before the optimizer step
  Stats last_stats() const { return stats_; }

  // What the caller multiplies its loss by before backward: 1 / ranks with Mean::prescaled
  // (a no-op GradientSync included), else 1.
  double loss_scale() const { return loss_scale_; }
  int bucket_count() const;
  bool overlapping() const { return thread_ != nullptr; }
  // What `automatic` resolved to (automatic itself for a no-op GradientSync).
  Transport transport() const { return transport_; }

 private:
  struct State;
  void on_grad(size_t slot, const torch::Tensor& grad);
  // Makes param.grad of `slot` its part of the bucket: a grad of its own is copied in (true);
  // an undefined one stays undefined (false), its bucket part zeroed when asked.
  bool bind_to_bucket(size_t slot, bool zero_if_undefined);
  void launch_ready_buckets();  // in order; caller holds the state's mutex

  const World& world_;
  std::vector<torch::Tensor> params_;  // trainable ones only
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // their post-hooks are ours
  std::vector<uintptr_t> hook_keys_;
  std::shared_ptr<State> state_;  // shared with the communication thread
  std::unique_ptr<std::thread> thread_;
  Transport transport_ = Transport::automatic;
  double loss_scale_ = 1.0;
  bool armed_ = false;
  Stats stats_;
};

// How GradientSync packs: the trainable ones of `params` in reverse order into buckets of at
// most `bucket_mb` MiB (a larger parameter gets a bucket of its own; a change of dtype starts a
// new bucket). One entry per trainable parameter, in the order of `params`.
struct BucketEntry {
  int bucket = 0;
  int64_t offset = 0;  // elements into the bucket
  int64_t numel = 0;
};
std::vector<BucketEntry> plan_gradient_buckets(const std::vector<torch::Tensor>& params, double bucket_mb);

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
