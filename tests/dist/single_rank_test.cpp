// With one rank (no mpirun) the distributed helpers are cheap no-ops that change nothing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/world.hpp"

namespace dist = nucseg::dist;

namespace {
// MPI may be initialised only once per process: one world for every test here.
const dist::World& the_world() {
  static dist::World world(nullptr, nullptr);
  return world;
}
}  // namespace

TEST(SingleRank, GradientSyncLeavesGradientsAlone) {
  const dist::World& world = the_world();
  ASSERT_EQ(world.size(), 1);
  torch::manual_seed(1);
  torch::nn::Linear net(4, 2);
  dist::GradientSync sync(world, net->parameters(), 4.0);
  EXPECT_EQ(sync.bucket_count(), 0);
  sync.begin_step();
  net(torch::ones({3, 4})).sum().backward();
  const auto grad = net->weight.grad().clone();
  sync.finish();
  EXPECT_TRUE(net->weight.grad().equal(grad));
  EXPECT_EQ(sync.last_stats().buckets, 0);
  EXPECT_EQ(sync.last_stats().bytes, 0);

  const uint64_t before = dist::parameter_checksum(*net);
  dist::broadcast_parameters(world, *net);
  EXPECT_EQ(dist::parameter_checksum(*net), before);
  EXPECT_TRUE(dist::parameters_identical(world, *net));
  EXPECT_EQ(dist::sum(world, {1.5, 2.0}), (std::vector<double>{1.5, 2.0}));
}

TEST(SingleRank, ChecksumSeesEveryBit) {
  torch::manual_seed(2);
  torch::nn::Linear net(4, 2);
  const uint64_t before = dist::parameter_checksum(*net);
  torch::NoGradGuard no_grad;
  auto* data = net->bias.data_ptr<float>();
  data[1] = std::nextafter(data[1], 1e9f);
  EXPECT_NE(dist::parameter_checksum(*net), before);
}

TEST(SingleRank, RejectsANonPositiveBucketSize) {
  const dist::World& world = the_world();
  torch::nn::Linear net(4, 2);
  EXPECT_THROW(dist::GradientSync(world, net->parameters(), 0.0), nucseg::Error);
}
