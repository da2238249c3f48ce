#include "nucseg/dist/work_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

namespace {

int g_argc = 0;
char** g_argv = nullptr;

TEST(WorkQueue, EveryItemProcessedExactlyOnce) {
  nucseg::dist::World world(&g_argc, &g_argv);  // MPI already up: adopts it
  ASSERT_EQ(world.size(), 2);
  const long total = 41;
  std::string mine;
  long count = 0;
  {
    nucseg::dist::WorkQueue queue(world, total);
    // Each rank takes its first item before either takes a second: without this, a rank that
    // starts late (a loaded CI machine) may find every item already taken, and "both ranks
    // took work" would depend on scheduling. After the barrier the race is free.
    auto first = queue.next();
    ASSERT_TRUE(first.has_value());
    world.barrier();
    for (auto item = first; item; item = queue.next()) {
      mine += std::to_string(*item) + " ";
      ++count;
      queue.add_finished(*item % 2 == 0, 10);
      // Rank 0 is slower: dynamic distribution must still hand out every item once.
      if (world.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    EXPECT_FALSE(queue.next().has_value());  // stays exhausted
    world.barrier();
    auto counts = queue.counts();
    EXPECT_EQ(counts.handed_out, total);
    EXPECT_EQ(counts.finished, total);
    EXPECT_EQ(counts.processed, 21);  // the even items
    EXPECT_EQ(counts.pixels, 210);
  }
  auto all = world.gather_strings(mine);
  auto report = nucseg::dist::busy_time_report(world, 0.5, 1.0, count);
  if (world.rank() == 0) {
    std::vector<int> seen(total, 0);
    for (const auto& part : all) {
      std::istringstream in(part);
      long i;
      while (in >> i) {
        ASSERT_GE(i, 0);
        ASSERT_LT(i, total);
        ++seen[i];
      }
    }
    for (long i = 0; i < total; ++i) EXPECT_EQ(seen[i], 1) << "item " << i;
    // Both ranks took work (rank 0's first item before the barrier), and the report lists both.
    EXPECT_NE(all[0].size(), 0u);
    EXPECT_NE(all[1].size(), 0u);
    EXPECT_NE(report.find("rank 1:"), std::string::npos);
  } else {
    EXPECT_TRUE(report.empty());
  }
}

// A stop recorded on rank 1 reaches rank 0 through the window, with rank 1's signal; a second
// rank's stop does not replace the first one's signal.
TEST(WorkQueue, StopOnOneRankIsSeenByAllWithTheFirstSignal) {
  nucseg::dist::World world(&g_argc, &g_argv);
  ASSERT_EQ(world.size(), 2);
  nucseg::dist::WorkQueue queue(world, 10);
  EXPECT_FALSE(queue.counts().stopped);
  world.barrier();  // both read "not stopped" before rank 1 records its stop
  if (world.rank() == 1) queue.request_stop(SIGUSR1);
  world.barrier();
  auto c = queue.counts();
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.stop_signal, SIGUSR1);
  if (world.rank() == 0) queue.request_stop(SIGTERM);
  world.barrier();
  c = queue.counts();
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.stop_signal, SIGUSR1);
  EXPECT_EQ(c.finished, 0);  // the stop word leaves the counters alone
  EXPECT_TRUE(queue.next().has_value());  // nor the queue itself: stopping is the caller's choice
  world.barrier();
}

TEST(WorkQueue, EmptyQueueHandsOutNothing) {
  nucseg::dist::World world(&g_argc, &g_argv);
  nucseg::dist::WorkQueue queue(world, 0);
  EXPECT_FALSE(queue.next().has_value());
}

}  // namespace
