// One image of a shard file read back (shared by the trainer's reader and the verifier).
#pragma once

#include "nucseg/io/shard.hpp"

namespace nucseg::io {

// Reads /images/<slot> of `file` and checks it against `entry` (id, shapes). Error(data)
// naming file and slot when they disagree or the data do not read back.
ShardRecord read_shard_slot(const h5::File& file, const ShardEntry& entry);

}  // namespace nucseg::io
