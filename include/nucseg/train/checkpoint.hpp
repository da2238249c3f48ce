// Training checkpoints: model, optimizer (Adam moments included), and the position of the
// run (epoch, step, batch within the epoch, seeds, RNG state, best score) in one file, written
// to a temporary sibling and renamed, so a killed job never leaves a file that looks complete.
// Layout (torch::serialize archive): "model/..." parameters and buffers, "optimizer/...",
// scalars "epoch", "step", "batch_in_epoch", "seed", "best_score", "best_step", "classes",
// the CPU generator state "rng", and the resolved config TOML as the string "config".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace nucseg::train {

struct TrainState {
  long epoch = 0;           // epoch in progress (0-based)
  long step = 0;            // optimizer steps done
  long batch_in_epoch = 0;  // batches of `epoch` already consumed
  long seed = 0;
  double best_score = -1.0; // best validation score so far (the trainer starts at -inf)
  long best_step = -1;
  long classes = 0;
  std::string config;       // resolved configuration (TOML) of the run that wrote it
};

// Writes atomically (temporary sibling + rename). `optimizer` may be null (model-only file).
void save_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainState& state);

// Loads into `model` (and `optimizer` when not null) and returns the saved state; also
// restores the CPU generator. Throws Error(data) naming the file when it is unreadable.
// Tensors are read onto `device` (the model's).
TrainState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer, torch::Device device = torch::kCPU);

// Reads only the run state (no model), e.g. to size a model before loading it.
TrainState read_checkpoint_state(const std::filesystem::path& file);

// The checkpoint folder of a run: ckpt-step-XXXXXXXX.pt files plus best.pt.
class CheckpointDir final {
 public:
  CheckpointDir(std::filesystem::path dir, int keep);

  static std::string file_name(long step);  // "ckpt-step-00000042.pt"

  // Saves the step checkpoint, then deletes the oldest beyond `keep`. Returns its path.
  std::filesystem::path save(torch::nn::Module& model, torch::optim::Optimizer* optimizer, const TrainState& state);
  std::filesystem::path save_best(torch::nn::Module& model, const TrainState& state);
  std::filesystem::path best_path() const { return dir_ / "best.pt"; }

  // Step checkpoints present, oldest first (temporary files excluded).
  std::vector<std::filesystem::path> list() const;
  // Removes leftover temporary files (of killed writers) and returns the newest checkpoint
  // whose archive opens; unreadable ones are skipped with a warning.
  std::optional<std::filesystem::path> latest();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  void prune();
  std::filesystem::path dir_;
  int keep_;
};

}  // namespace nucseg::train
