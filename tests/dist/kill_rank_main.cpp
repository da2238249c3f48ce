// A 2-rank job in which rank 1 kill -9's itself while rank 0 waits in a collective for it.
// kill_rank_test.sh checks that mpiexec then ends the job (nonzero) instead of hanging.
#include <unistd.h>

#include <chrono>

#include <csignal>
#include <cstdio>

#include "nucseg/dist/world.hpp"

int main(int argc, char** argv) {
  nucseg::dist::World world(&argc, &argv);
  if (world.size() != 2) {
    std::fprintf(stderr, "kill_rank: needs exactly 2 ranks\n");
    return 2;
  }
  // Said before the barrier, so the line is out before rank 1's 300 ms start, however late the
  // scheduler runs rank 0 after it.
  if (world.rank() == 0) {
    std::fprintf(stderr, "kill_rank: rank 0 enters an all-reduce its peer never joins\n");
    std::fflush(stderr);
  }
  world.barrier();
  if (world.rank() == 1) {
    usleep(300 * 1000);  // let rank 0 block in the all-reduce first
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    std::fprintf(stderr, "kill_rank: rank 1 sends itself SIGKILL at %lld ms\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
    std::fflush(stderr);
    std::raise(SIGKILL);
  }
  for (;;) world.sum(1.0);
}
