// The checkpoint folder of a training run: ckpt-step-XXXXXXXX.pt files, pruned to the newest
// `keep`, plus best.pt. The file format itself is the model's (model/checkpoint.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "nucseg/model/checkpoint.hpp"

namespace nucseg::train {

// The trainer's state is exactly what a checkpoint records.
using TrainState = model::CheckpointState;

class CheckpointDir final {
 public:
  CheckpointDir(std::filesystem::path dir, int keep);

  // Saves the step checkpoint, then deletes the oldest beyond `keep`. Returns its path.
  std::filesystem::path save(torch::nn::Module& model, torch::optim::Optimizer* optimizer, const TrainState& state);
  std::filesystem::path save_best(torch::nn::Module& model, const TrainState& state);
  std::filesystem::path best_path() const { return dir_ / "best.pt"; }

  // Step checkpoints present, oldest first (temporary files excluded).
  std::vector<std::filesystem::path> list() const { return model::list_step_checkpoints(dir_); }
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
