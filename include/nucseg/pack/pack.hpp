// The pack stage: a dataset folder -> HDF5 shards + index.h5, decoded in parallel over MPI ranks.
#pragma once

#include <string>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::pack {

// Runs on every rank of `world`; returns the exit code (0 ok, 3 when more than
// pack.max_rejected_fraction of the inputs were rejected). Throws Error(config) for a missing
// input root (exit 2).
int run_pack(const Config& config, const dist::World& world);

// "val" or "train" for an image id: a seeded hash of the id alone, so adding or removing
// other images never moves this one.
std::string split_for(const std::string& id, int seed, double val_fraction);

// File name of shard `k` written by `rank`: shard-r<rank:03>-<k:05>.h5 (ranks never collide).
std::string shard_file_name(int rank, int k);

}  // namespace nucseg::pack
