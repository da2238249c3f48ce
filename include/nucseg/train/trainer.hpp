// nucseg_train's body: the data-parallel training run described in docs/training.md.
#pragma once

#include <string>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::train {

// Trains per `config` (sections data, model, train, segment for the validation instances)
// into config.train.output, resuming from its latest checkpoint. Collective over `world`.
// Returns exit_codes::ok, or exit_codes::requeue after a stop signal (a checkpoint was
// written). Throws nucseg::Error for bad inputs (before training starts) and for a NaN/inf
// loss (the last good checkpoint is kept). `resolved_config` is saved as <output>/config.toml.
int run_train(const Config& config, const dist::World& world, const std::string& resolved_config = {});

}  // namespace nucseg::train
