// Which checkpoint a "model" setting names: a checkpoint file, or a training run directory in
// which best.pt wins, else the newest readable ckpt-step-*.pt (both also looked for under
// <dir>/checkpoints). Torch-free, for tools that only pass the path on.
#pragma once

#include <filesystem>
#include <string>

namespace nucseg::model {

// Throws Error(config) naming `key` (e.g. "export.model") when `model` is empty, does not
// exist, or is a folder without a usable checkpoint. Unreadable step checkpoints (a copy in
// progress) are skipped with a warning.
std::filesystem::path find_checkpoint(const std::string& model, const std::string& key);

}  // namespace nucseg::model
