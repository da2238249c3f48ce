// Private to src/train: steps of the training run that rank 0 does alone (choosing and
// writing checkpoints) and every rank must agree on. Each rank gets rank 0's result, or rank
// 0's error to throw, so the ranks go on or stop together and say the same thing, instead of
// one rank failing while the others wait in the next collective until the abort.
#pragma once

#include <functional>
#include <string>

#include "nucseg/dist/world.hpp"
#include "nucseg/train/checkpoint_dir.hpp"

namespace nucseg::train {

// Runs `work` on rank 0 only (collective: every rank calls it). Returns its result on every
// rank; when it throws, rank 0 rethrows its exception and the other ranks throw an Error of the
// same kind, message, file and key (another exception: Error(runtime) with its message).
std::string root_decides(const dist::World& world, const std::function<std::string()>& work);

// The checkpoint a run resumes from, the same on every rank, or empty for a fresh run. Rank 0
// finds the newest usable one in `ckpts` with `load` as the check (CheckpointDir::latest: a
// damaged file is skipped, none usable is an error on every rank); the other ranks then `load`
// the one it names. `load` fills the model, optimizer and state of its rank.
std::string resume_checkpoint(const dist::World& world, CheckpointDir& ckpts,
                              const std::function<void(const std::string&)>& load);

}  // namespace nucseg::train
