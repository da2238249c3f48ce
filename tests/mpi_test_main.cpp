// main() of the MPI test programs: MPI up once, results printed by rank 0 only, and the
// exit code agreed by all ranks so a failure on any rank fails the test.
#include <gtest/gtest.h>

#include "nucseg/core/logging.hpp"
#include "nucseg/dist/world.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  nucseg::dist::World world(&argc, &argv);
  nucseg::log::init(world.rank(), world.size(), "warn");
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0;
  bool any_failed = world.any(failed != 0);
  return any_failed ? 1 : 0;
}
