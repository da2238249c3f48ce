#include "nucseg/data/sampler.hpp"

#include <string>

#include "nucseg/core/error.hpp"

namespace nucseg::data {
namespace {

// splitmix64: a tiny, well-mixed generator whose output is fixed by its definition.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias (rejection of the short top range).
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x = next();
    while (x >= limit) x = next();
    return x % bound;
  }
};

}  // namespace

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  SplitMix64 rng{seed};
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

DistributedSampler::DistributedSampler(size_t dataset_size, int rank, int world_size, uint64_t seed, bool drop_last)
    : size_(dataset_size), rank_(rank), world_size_(world_size), seed_(seed), drop_last_(drop_last) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw_runtime("DistributedSampler: rank " + std::to_string(rank) + " is outside a world of " +
                  std::to_string(world_size));
  if (dataset_size == 0) throw_data({}, "DistributedSampler: the dataset is empty");
  const size_t w = static_cast<size_t>(world_size);
  per_rank_ = drop_last ? dataset_size / w : (dataset_size + w - 1) / w;
  if (per_rank_ == 0)
    throw_data({}, "DistributedSampler: " + std::to_string(dataset_size) + " item(s) cannot give each of " +
                       std::to_string(world_size) + " ranks one item with drop_last; use fewer ranks");
}

void DistributedSampler::set_epoch(int epoch) { epoch_ = epoch; }

size_t DistributedSampler::padding() const {
  const size_t total = per_rank_ * static_cast<size_t>(world_size_);
  return total > size_ ? total - size_ : 0;
}

std::vector<size_t> DistributedSampler::indices() const {
  const std::vector<size_t> order = seeded_permutation(size_, seed_ + static_cast<uint64_t>(epoch_));
  std::vector<size_t> mine;
  mine.reserve(per_rank_);
  // Position p of the padded sequence is order[p % size]: the pad wraps around the start.
  for (size_t k = 0; k < per_rank_; ++k) {
    const size_t p = k * static_cast<size_t>(world_size_) + static_cast<size_t>(rank_);
    mine.push_back(order[p % size_]);
  }
  return mine;
}

}  // namespace nucseg::data
