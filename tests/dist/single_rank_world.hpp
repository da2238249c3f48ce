// One process-wide single-rank World for tests that call a tool's run function (run_pack,
// run_eval) without mpirun, with logging at "error" so the tool's output stays quiet.
#pragma once

#include "nucseg/core/logging.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::testing {

inline const nucseg::dist::World& single_rank_world() {
  static int argc = 0;
  static char** argv = nullptr;
  static nucseg::dist::World w(&argc, &argv);
  static bool logging = (nucseg::log::init(0, 1, "error"), true);
  (void)logging;
  return w;
}

}  // namespace nucseg::testing
