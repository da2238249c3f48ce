// Which training items each rank sees in an epoch (torch-free).
//
// Every epoch is one permutation of [0, dataset_size) seeded by seed + epoch, identical on every
// rank; rank r takes positions r, r + W, r + 2W, ... of it. When the size does not divide by
// the world size W, the permutation is padded by wrapping around its start (a few items are
// seen twice that epoch) so every rank gets the same count and the collectives of every step
// line up; with drop_last the tail is dropped instead (a few items are skipped that epoch).
// The order depends only on (seed, epoch, rank, world size): a checkpoint that stores the
// epoch and the number of items consumed resumes exactly, by skipping that many indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nucseg::data {

class DistributedSampler final {
 public:
  DistributedSampler(size_t dataset_size, int rank, int world_size, uint64_t seed, bool drop_last = false);

  void set_epoch(int epoch);
  int epoch() const { return epoch_; }
  std::vector<size_t> indices() const;  // this rank's share of the current epoch, in order
  size_t per_rank() const { return per_rank_; }
  size_t padding() const;  // items repeated (pad) this epoch across all ranks; 0 with drop_last

 private:
  size_t size_;
  int rank_;
  int world_size_;
  uint64_t seed_;
  bool drop_last_;
  int epoch_ = 0;
  size_t per_rank_;
};

// A permutation of [0, n) from a seed, the same on every platform and compiler (std::shuffle
// and std::uniform_int_distribution are implementation-defined, so they are not used).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);

}  // namespace nucseg::data
