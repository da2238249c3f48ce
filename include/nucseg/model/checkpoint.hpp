// The checkpoint file format, shared by training (which writes and resumes) and inference
// (which reads the network back): model, optimizer (Adam moments included), and the position
// of the run (epoch, step, batch within the epoch, seeds, RNG state, best score) in one file,
// written to a temporary sibling and renamed, so a killed job never leaves a file that looks
// complete.
// Layout (torch::serialize archive): "model/..." parameters and buffers, "optimizer/...",
// scalars "epoch", "step", "batch_in_epoch", "seed", "best_score", "best_step", "classes",
// "distance_head", "flow_head" (0/1), "full_res" (channels; all three absent in checkpoints written
// before they existed, read as 0), "decoder_width" (float64; absent: 1),
// "nucleus_diameter" (float64, px), "train_seconds" (float64; both absent in checkpoints written
// before they existed, read as 0),
// "world_size", "batch_size", "epoch_loss_sum", "epoch_loss_count" (the last four optional),
// the CPU generator state "rng", the CUDA generator state "cuda_rng" of the writer's current
// device (only when written where LibTorch sees a GPU; restored only where it does), the
// resolved config TOML as the string "config" (it holds data.normalize*, data.channels: what
// inference needs to prepare images the same way), and
// "model_hash": model_tensors_hash() of the model as saved, and with an optimizer
// "optimizer_hash": optimizer_state_hash() (absent in files written before it), which loading
// verifies.
// Step checkpoints are named ckpt-step-XXXXXXXX.pt (step_checkpoint_name); the rotation of a
// run's checkpoint folder is the trainer's (train/checkpoint_dir.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "nucseg/core/config.hpp"

namespace nucseg::model {

// What a checkpoint stores besides the tensors: the position of the training run.
struct CheckpointState {
  long epoch = 0;           // epoch in progress (0-based)
  long step = 0;            // optimizer steps done
  long batch_in_epoch = 0;  // batches of `epoch` already consumed
  long seed = 0;
  double best_score = -1.0; // best validation score so far (the trainer starts at -inf)
  long best_step = -1;
  long classes = 0;
  bool distance_head = false;  // the network has model.distance_head's extra output
  bool flow_head = false;      // ... and model.flow_head's two (after the distance's)
  long full_res = 0;           // model.full_res's channels (0: none)
  double decoder_width = 1.0;  // model.decoder_width
  // Median equivalent diameter (pixels) of the training set's nuclei, from the pack index's
  // `nucleus_diameter_median`; 0 = unknown (older checkpoint or index). Inference rescales
  // images to this size.
  double nucleus_diameter = 0.0;
  // Wall-clock seconds of training the run has used over all its invocations (train.time_limit
  // counts them); 0 in older checkpoints.
  double train_seconds = 0.0;
  std::string config;       // resolved configuration (TOML) of the run that wrote it
  // What decides which samples a step of `epoch` takes: a resume mid-epoch needs the same
  // (0: not recorded, files of nucseg 0.1).
  long world_size = 0;
  long batch_size = 0;
  // The epoch's training loss so far, summed over every rank's steps, so the epoch's metrics
  // row after a resume averages the whole epoch, not only the steps since the restart.
  double epoch_loss_sum = 0.0;
  long epoch_loss_count = 0;
};

// Writes atomically (serialised in memory, then fs::write_file_atomic: temporary sibling, fsync,
// rename). `optimizer` may be null (model-only file). Throws Error(runtime) naming `file`, with
// nothing written, when a parameter or buffer holds NaN or infinity, and when the write fails
// (a full disk: the system's reason; the temporary is removed).
void save_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const CheckpointState& state);

// Loads into `model` (and `optimizer` when not null) and returns the saved state; also
// restores the CPU generator (and the current device's CUDA generator when the file has its
// state and LibTorch sees a GPU). Throws Error(data) naming the file when it is unreadable,
// damaged (the loaded tensors do not hash to the recorded model_hash, or, with `optimizer`, its
// state not to optimizer_hash) or its weights are not all finite. A checkpoint without a
// model_hash (nucseg 0.1) is loaded with a warning; one without an optimizer_hash (written before
// it existed) with a warning, its Adam moments checked only for NaN, infinity and negative
// second moments.
// Tensors are read onto `device` (the model's).
CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer* optimizer, torch::Device device = torch::kCPU);

// 64-bit FNV-1a (16 hex digits) over every parameter and buffer in registration order: name,
// dtype, shape and bytes. What a checkpoint records as "model_hash".
std::string model_tensors_hash(torch::nn::Module& model);

// The same hash over Adam's per-parameter state in parameter order (step, exp_avg, exp_avg_sq,
// max_exp_avg_sq when amsgrad): what a checkpoint records as "optimizer_hash". The state of
// other optimizers is not covered (only the parameter count is).
std::string optimizer_state_hash(torch::optim::Optimizer& optimizer);

// The name of the first parameter or buffer holding NaN or infinity; empty when all are finite.
std::string non_finite_tensor(const torch::nn::Module& model);

// Reads only the run state (no model), e.g. to size a model before loading it.
CheckpointState read_checkpoint_state(const std::filesystem::path& file);

// The network a checkpoint's weights fit, for make_model before load_checkpoint: `base` with the
// architecture `state` records (its classes when recorded, the heads, full_res, decoder_width)
// and no ImageNet file or freezing (the checkpoint holds every weight).
ModelConfig checkpoint_model_config(const CheckpointState& state, ModelConfig base = {});

// The other direction, for a run that writes checkpoints: `model`'s architecture (the heads,
// full_res, decoder_width; the classes the caller resolved) recorded in `state`.
void record_architecture(CheckpointState& state, const ModelConfig& model, long classes);

// "ckpt-step-00000042.pt": the name of the step checkpoint written after `step` steps.
std::string step_checkpoint_name(long step);

// The step checkpoints in `dir`, oldest first (temporary files and best.pt excluded).
// Throws Error(runtime) when the folder cannot be listed (a missing folder included).
std::vector<std::filesystem::path> list_step_checkpoints(const std::filesystem::path& dir);

}  // namespace nucseg::model
