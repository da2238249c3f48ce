// Rotation of a run's checkpoints: step files pruned to the newest K, best.pt beside them.
#include "nucseg/train/checkpoint_dir.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::train {
namespace stdfs = std::filesystem;

CheckpointDir::CheckpointDir(stdfs::path dir, int keep) : dir_(std::move(dir)), keep_(std::max(1, keep)) {
  fs::create_directories(dir_);
}

stdfs::path CheckpointDir::save(torch::nn::Module& model, torch::optim::Optimizer* optimizer, const TrainState& state) {
  auto file = dir_ / model::step_checkpoint_name(state.step);
  model::save_checkpoint(file, model, optimizer, state);
  prune();
  return file;
}

stdfs::path CheckpointDir::save_best(torch::nn::Module& model, const TrainState& state) {
  model::save_checkpoint(best_path(), model, nullptr, state);
  return best_path();
}

void CheckpointDir::prune() {
  auto files = list();
  for (size_t i = 0; i + keep_ < files.size(); ++i) {
    std::error_code ec;
    stdfs::remove(files[i], ec);
    if (ec) throw_runtime("cannot remove old checkpoint: " + ec.message(), files[i].string());
  }
}

std::optional<stdfs::path> CheckpointDir::latest(const std::function<void(const stdfs::path&)>& verify) {
  std::vector<stdfs::path> leftovers;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (is_stale_temporary(it->path())) leftovers.push_back(it->path());  // a live writer's stays
  for (const auto& p : leftovers) {
    log::rank().info("removing leftover temporary checkpoint {}", p.string());
    std::error_code rm;
    stdfs::remove(p, rm);
  }
  const auto files = list();
  std::string unusable;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      model::read_checkpoint_state(*it);
      if (verify) verify(*it);
      return *it;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::data) throw;
      log::rank().warn("skipping unusable checkpoint {}: {}", it->string(), e.message());
      unusable += (unusable.empty() ? "" : ", ") + it->filename().string();
    }
  }
  if (files.empty()) return std::nullopt;
  // Not a fresh run: starting at step 0 would overwrite best.pt and metrics.csv, and the
  // rotation would delete these files, the only trace of the run.
  throw_data(dir_.string(), "none of the " + std::to_string(files.size()) + " checkpoint(s) of this run can be used: " +
                                unusable + " (why: the warnings above). Training does not start over them from step 0, "
                                "which would overwrite best.pt and metrics.csv: to start the run again, move the "
                                "checkpoints out of " + dir_.string() + " (or set train.output to a new folder); to "
                                "continue it, put an intact checkpoint back");
}

}  // namespace nucseg::train
