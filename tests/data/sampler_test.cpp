#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "nucseg/core/error.hpp"
#include "nucseg/data/sampler.hpp"

using nucseg::data::DistributedSampler;

namespace {

// Every index of every rank's share of one epoch, counted.
std::map<size_t, int> epoch_counts(size_t n, int world, uint64_t seed, int epoch, bool drop_last) {
  std::map<size_t, int> counts;
  for (int r = 0; r < world; ++r) {
    DistributedSampler sampler(n, r, world, seed, drop_last);
    sampler.set_epoch(epoch);
    for (size_t i : sampler.indices()) ++counts[i];
  }
  return counts;
}

}  // namespace

TEST(DistributedSampler, EveryIndexOncePerEpochWhenDivisible) {
  auto counts = epoch_counts(12, 3, 5, 0, false);
  ASSERT_EQ(counts.size(), 12u);
  for (const auto& [index, count] : counts) {
    EXPECT_LT(index, 12u);
    EXPECT_EQ(count, 1) << "index " << index;
  }
}

TEST(DistributedSampler, UnequalSharesArePaddedByWrapping) {
  const size_t n = 10;
  const int world = 4;  // 10 = 4 x 3 - 2: two indices are used twice
  DistributedSampler probe(n, 0, world, 9);
  EXPECT_EQ(probe.per_rank(), 3u);
  EXPECT_EQ(probe.padding(), 2u);
  for (int r = 0; r < world; ++r) {
    DistributedSampler sampler(n, r, world, 9);
    EXPECT_EQ(sampler.indices().size(), 3u) << "every rank gets the same count";
  }
  auto counts = epoch_counts(n, world, 9, 3, false);
  ASSERT_EQ(counts.size(), n) << "every index is used";
  int twice = 0;
  for (const auto& [index, count] : counts) {
    EXPECT_GE(count, 1);
    EXPECT_LE(count, 2);
    twice += count == 2;
  }
  EXPECT_EQ(twice, 2);
}

TEST(DistributedSampler, DropLastSkipsTheTailInstead) {
  DistributedSampler probe(10, 0, 4, 9, true);
  EXPECT_EQ(probe.per_rank(), 2u);
  EXPECT_EQ(probe.padding(), 0u);
  auto counts = epoch_counts(10, 4, 9, 0, true);
  EXPECT_EQ(counts.size(), 8u);
  for (const auto& [index, count] : counts) EXPECT_EQ(count, 1);
}

TEST(DistributedSampler, OrderChangesPerEpochAndRepeatsForTheSameSeed) {
  DistributedSampler a(100, 1, 2, 42), b(100, 1, 2, 42), other_seed(100, 1, 2, 43);
  a.set_epoch(0);
  b.set_epoch(0);
  other_seed.set_epoch(0);
  EXPECT_EQ(a.indices(), b.indices());
  EXPECT_NE(a.indices(), other_seed.indices());
  const auto epoch0 = a.indices();
  a.set_epoch(1);
  EXPECT_NE(a.indices(), epoch0);
  a.set_epoch(0);
  EXPECT_EQ(a.indices(), epoch0) << "an epoch's order depends only on seed + epoch (resume)";
}

TEST(DistributedSampler, PermutationIsAPermutationAndFixed) {
  auto order = nucseg::data::seeded_permutation(1000, 7);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(order, sorted);
  EXPECT_EQ(order, nucseg::data::seeded_permutation(1000, 7));
}

TEST(DistributedSampler, RejectsImpossibleSetups) {
  EXPECT_THROW(DistributedSampler(0, 0, 1, 1), nucseg::Error);
  EXPECT_THROW(DistributedSampler(10, 2, 2, 1), nucseg::Error);
  EXPECT_THROW(DistributedSampler(3, 0, 4, 1, true), nucseg::Error);
  EXPECT_EQ(DistributedSampler(3, 3, 4, 1).indices().size(), 1u) << "padding covers more ranks than items";
}
