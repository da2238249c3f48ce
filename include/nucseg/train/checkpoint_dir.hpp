// The checkpoint folder of a training run: ckpt-step-XXXXXXXX.pt files, pruned to the newest
// `keep`, plus best.pt. The file format itself is the model's (model/checkpoint.hpp).
#pragma once

#include <filesystem>
#include <functional>
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
  // Removes leftover temporary files (of killed writers) and returns the newest step checkpoint
  // that opens and passes `verify` (the trainer's: a full load, which checks the recorded hashes
  // and that the weights are finite; it throws Error(data) for a damaged file). Cut-short and
  // damaged files are skipped alike, each with a warning naming it; nullopt when there is no
  // step checkpoint. When there are some and not one is usable, throws Error(data) naming them
  // and what to do: starting over would overwrite the run's best.pt and metrics.csv, and the
  // rotation would delete the files. Other errors of `verify` (a configuration that does not fit
  // the run) pass through.
  std::optional<std::filesystem::path> latest(const std::function<void(const std::filesystem::path&)>& verify = {});

  const std::filesystem::path& dir() const { return dir_; }

 private:
  void prune();
  std::filesystem::path dir_;
  int keep_;
};

}  // namespace nucseg::train
