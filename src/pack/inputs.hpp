// Private to src/pack: the listing of pack.input, made once on rank 0 and broadcast to every
// rank, so all ranks split the same list of work.
#pragma once

#include <filesystem>
#include <vector>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/io/dataset.hpp"

namespace nucseg::pack::detail {

struct Inputs {
  std::filesystem::path root;
  io::DatasetLayout layout;
  std::vector<io::DatasetItem> items;
  std::vector<io::ListingProblem> problems;
  io::ListingStats skipped;  // hidden files and tool temporaries left out
};

// Rank 0 lists the inputs and every rank gets its list: ranks that listed on their own could
// see a folder at different moments (files still arriving) and split the work inconsistently.
// A configuration error found by rank 0 is raised on every rank (exit 2, nobody waiting).
Inputs shared_inputs(const PackConfig& pc, const dist::World& world);

}  // namespace nucseg::pack::detail
