// find_checkpoint: the same rule as nucseg_infer's infer.model (infer/run.cpp).
#include "nucseg/model/find_checkpoint.hpp"

#include <optional>

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/model/checkpoint.hpp"

namespace nucseg::model {
namespace {

namespace stdfs = std::filesystem;

// The newest step checkpoint whose run state reads back (a half-copied file is skipped).
std::optional<stdfs::path> newest_readable(const stdfs::path& dir) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return std::nullopt;
  auto files = list_step_checkpoints(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      read_checkpoint_state(*it);
      return *it;
    } catch (const Error& e) {
      log::job().warn("skipping unreadable checkpoint {}: {}", it->string(), e.what());
    }
  }
  return std::nullopt;
}

}  // namespace

stdfs::path find_checkpoint(const std::string& model, const std::string& key) {
  if (model.empty()) throw_config(key, "no model given (a checkpoint file or a training run directory)");
  const stdfs::path p(model);
  std::error_code ec;
  if (stdfs::is_regular_file(p, ec)) return p;
  if (!stdfs::is_directory(p, ec)) throw_config(key, "model does not exist: " + model);
  for (const auto& dir : {p, p / "checkpoints"})
    if (stdfs::is_regular_file(dir / "best.pt", ec)) return dir / "best.pt";
  for (const auto& dir : {p, p / "checkpoints"})
    if (auto f = newest_readable(dir)) return *f;
  throw_config(key, "no best.pt or readable ckpt-step-*.pt in " + model + " (or its checkpoints/ folder)");
}

}  // namespace nucseg::model
