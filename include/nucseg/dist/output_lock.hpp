// The folder lock (core/lock.hpp) of a multi-rank job: rank 0 takes it for the whole job and
// every rank learns the outcome, so a refused lock is the same Error on every rank (exit 2,
// nobody left waiting in a collective).
#pragma once

#include <filesystem>
#include <string>

#include "nucseg/core/lock.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::dist {

// Collective. Returns the held lock on rank 0 and an empty one elsewhere; throws on every rank
// when rank 0 could not take it (Error(config) naming `key` when another run holds it).
FolderLock lock_output_folder(const World& world, const std::filesystem::path& folder, const std::string& tool,
                              const std::string& key);

}  // namespace nucseg::dist
