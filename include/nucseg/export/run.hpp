// nucseg_export's library entry: [export] model (a checkpoint or a run directory, resolved as
// nucseg_infer resolves infer.model), format, output.
#pragma once

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::exporter {

// Rank 0 writes export.output; other ranks only return. Error(config) for a missing model or
// output; returns the exit code (0).
int run_export(const Config& config, const dist::World& world);

}  // namespace nucseg::exporter
