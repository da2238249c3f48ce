#include <gtest/gtest.h>

#include "nucseg/dist/world.hpp"

namespace {
int g_argc = 0;
char** g_argv = nullptr;
}  // namespace

TEST(World, CollectivesAgreeAcrossRanks) {
  nucseg::dist::World world(&g_argc, &g_argv);  // MPI already up: adopts it
  ASSERT_EQ(world.size(), 2);
  EXPECT_EQ(world.sum(static_cast<long>(world.rank() + 1)), 3);
  EXPECT_DOUBLE_EQ(world.max(world.rank() * 1.5), 1.5);
  EXPECT_TRUE(world.any(world.rank() == 1));
  EXPECT_FALSE(world.any(false));
  std::string text = world.rank() == 0 ? "from root" : "";
  world.broadcast(text);
  EXPECT_EQ(text, "from root");
  auto all = world.gather_strings("r" + std::to_string(world.rank()));
  if (world.rank() == 0) EXPECT_EQ(all, (std::vector<std::string>{"r0", "r1"}));
  EXPECT_GE(world.default_threads(), 1);
  EXPECT_EQ(world.default_threads(3), 3);
}
