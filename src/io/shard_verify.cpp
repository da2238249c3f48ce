// A shard checked against the checksum it recorded when it was written: what a resumed pack
// run does before it reuses a shard, so a damaged shard is rewritten rather than blessed.
#include "nucseg/core/error.hpp"
#include "nucseg/io/shard.hpp"
#include "shard_slot.hpp"

namespace nucseg::io {

void verify_shard(const std::filesystem::path& path) {
  const auto summary = read_shard_summary(path);
  h5::File f(path.string(), h5::File::Mode::read);
  if (!f.has_attr("payload_checksum"))
    throw_data(path.string(), "shard records no payload checksum (written before nucseg 0.2)");
  if (f.attr_string("checksum_algorithm") != kChecksumAlgorithm)
    throw_data(path.string(), "unknown shard checksum algorithm '" + f.attr_string("checksum_algorithm") + "'");
  const auto recorded = f.attr_string("payload_checksum");
  ShardChecksum checksum;
  for (const auto& e : summary.entries) checksum.add(read_shard_slot(f, e), e.split, e.source);
  const auto actual = checksum.finish(summary.header, static_cast<int64_t>(summary.entries.size()));
  if (actual != recorded)
    throw_data(path.string(), "shard content differs from its recorded checksum (" + recorded + ", now " + actual +
                                  "): damaged");
}

}  // namespace nucseg::io
