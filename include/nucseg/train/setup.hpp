// What a training run checks and prepares before its first step: the shards and their
// splits, the crop, the device, the threads. Every problem is reported here, before any
// training time is spent, as Error(config) naming the key or Error(data) naming the file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nucseg/core/config.hpp"
#include "nucseg/io/shard.hpp"

namespace nucseg::dist {
class World;
class GradientSync;
}
namespace nucseg::model {
struct CheckpointState;
}

namespace nucseg::train {

struct TrainData {
  io::ShardDataset dataset;
  std::vector<size_t> train;  // dataset indices of the train split
  std::vector<size_t> val;
};

// Checks model.classes against the targets' 3 classes first, then opens data.shards and checks
// both splits, data.crop against the images and data.channels against the mapping the shards
// were packed with.
TrainData open_train_data(const Config& config);

// train.device: auto -> CUDA when this LibTorch has a GPU; cuda without one is a config error.
// A GPU rank takes GPU (local rank mod visible GPUs) (dist/device.hpp, the rule inference
// shares) and makes it the calling thread's current device.
torch::Device select_device(const std::string& device, int local_rank);

// train.precision for a device: true for bfloat16 products (UNet::set_mixed_bfloat16). auto:
// bfloat16 on a CPU with native bfloat16 (native_bf16, rank 0's answer for every rank, so all
// ranks compute alike), else float32. bfloat16 on a GPU is a config error; bfloat16 on a CPU
// without native support is allowed (oneDNN emulates it; the caller warns).
bool resolve_train_bfloat16(const std::string& precision, const torch::Device& device, bool native_bf16);

// Collective: train.precision for this run, resolved alike on every rank (rank 0's CPU answers
// "auto"), logged, with a warning for bfloat16 without native support. Refuses (Error(config),
// train.device) ranks that got different kinds of device: they would resolve differently, and a
// refusal on some ranks only would leave the others waiting.
bool choose_train_bfloat16(const TrainConfig& train, const torch::Device& device, const dist::World& world);

// train.bucket_mb as the gradient all-reduce uses it: `requested` when > 0; 0 (auto) is 4 MiB
// on a GPU, where the reduction overlaps a backward that leaves the cores free, and on a CPU one
// bucket holding every gradient (kCpuOneBucketMb), reduced once backward ends: there an
// overlapped reduction shares the cores with the backward (10-19% slower steps, measured).
inline constexpr double kCpuOneBucketMb = 1024.0;
double train_bucket_mb(double requested, const torch::Device& device);

// The gradient all-reduce of a run on `world` (none on one rank), buckets of
// train_bucket_mb(bucket_mb, device), overlapped, with the loss prescaled: the trainer
// multiplies its loss by loss_scale() (1/ranks) before backward, so the reduced sums are the
// means without a pass of their own over the gradients (dist::GradientSync::Mean::prescaled).
std::unique_ptr<dist::GradientSync> make_gradient_sync(const dist::World& world, std::vector<torch::Tensor> params,
                                                       double bucket_mb, const torch::Device& device);

// A checkpoint to resume must hold the network `model` describes: the same model.classes,
// model.distance_head and model.flow_head, else Error(config) naming the key and the file.
void check_resume_model(const ModelConfig& model, const model::CheckpointState& saved, const std::string& path);

// Mid-epoch, the samples left in the epoch are found by position: batch b of rank r is the same
// sample only with the same rank count and batch size. Changed, the resumed epoch would repeat
// some samples and skip others, silently: a checkpoint `saved` mid-epoch by another layout is
// refused (Error(config), train.batch_size or train.output); at an epoch boundary any layout is
// fine, and one that records no layout (nucseg 0.1) is resumed with a warning.
void check_resume_layout(const model::CheckpointState& saved, const std::string& path, int world_size, long batch_size);

}  // namespace nucseg::train
