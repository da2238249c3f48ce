// The index file of a shard folder and the summary a shard gives of itself.
#include <algorithm>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/shard.hpp"

namespace nucseg::io {
namespace {

int64_t check_format(const h5::File& f, const std::string& role) {
  if (!f.has_attr("format") || f.attr_string("format") != kShardFormat)
    throw_data(f.file_name(), std::string("not a nucseg shard file (attribute 'format' is not '") + kShardFormat + "')");
  int64_t version = f.attr_int("format_version");
  if (version < kShardFormatMinVersion || version > kShardFormatVersion)
    throw_data(f.file_name(), "shard format version " + std::to_string(version) + " is not a version this nucseg reads (" +
                                  std::to_string(kShardFormatMinVersion) + ".." + std::to_string(kShardFormatVersion) +
                                  "); re-run nucseg_pack");
  if (f.attr_string("role") != role) throw_data(f.file_name(), "expected a " + role + " file, found a " + f.attr_string("role"));
  return version;
}

std::vector<RejectedInput> zip_rejected(const std::vector<std::string>& paths, const std::vector<std::string>& reasons,
                                        const std::string& file) {
  if (paths.size() != reasons.size()) throw_data(file, "rejected table columns differ in length");
  std::vector<RejectedInput> out;
  for (size_t i = 0; i < paths.size(); ++i) out.push_back({paths[i], reasons[i]});
  return out;
}

}  // namespace

int64_t check_shard_format(const h5::File& f, const std::string& role) { return check_format(f, role); }

double median_training_diameter(const std::vector<ShardEntry>& entries) {
  std::vector<double> d;
  for (const auto& e : entries)
    if (e.split == "train" && e.nucleus_diameter > 0) d.push_back(e.nucleus_diameter);
  if (d.empty()) return 0.0;
  std::sort(d.begin(), d.end());
  const size_t n = d.size();
  return n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
}

ShardSummary read_shard_summary(const std::filesystem::path& path) {
  h5::File f(path.string(), h5::File::Mode::read);
  const int64_t version = check_format(f, "shard");
  ShardSummary s;
  s.header.source_root = f.attr_string("source_root");
  s.header.border_width = static_cast<int>(f.attr_int("border_width"));
  s.header.compression = static_cast<int>(f.attr_int("compression"));
  s.header.plan = f.attr_string("plan");
  s.header.first_item = f.attr_int("first_item");
  s.header.end_item = f.attr_int("end_item");
  if (version >= 2) s.header.channels = f.attr_string("channels");
  auto ids = f.read_strings("ids");
  auto sources = f.read_strings("sources");
  auto splits = f.read_strings("splits");
  auto heights = f.read<int32_t>("heights");
  auto widths = f.read<int32_t>("widths");
  auto depths = f.read<int32_t>("bit_depths");
  auto nuclei = f.read<int32_t>("nuclei");
  size_t n = ids.size();
  // Version 1 had neither column: 0 reads as unknown.
  auto effective = version >= 2 ? f.read<int32_t>("effective_bits") : std::vector<int32_t>(n, 0);
  auto diameters = version >= 2 ? f.read<double>("nucleus_diameters") : std::vector<double>(n, 0.0);
  if (sources.size() != n || splits.size() != n || heights.size() != n || widths.size() != n || depths.size() != n ||
      nuclei.size() != n || effective.size() != n || diameters.size() != n ||
      static_cast<int64_t>(n) != f.attr_int("count"))
    throw_data(path.string(), "shard tables disagree on the image count");
  for (size_t i = 0; i < n; ++i) {
    ShardEntry e;
    e.id = ids[i];
    e.split = splits[i];
    e.height = heights[i];
    e.width = widths[i];
    e.bit_depth = depths[i];
    e.effective_bits = effective[i];
    e.nuclei = nuclei[i];
    e.nucleus_diameter = diameters[i];
    e.shard = path;
    e.slot = static_cast<int>(i);
    e.source = sources[i];
    s.entries.push_back(std::move(e));
  }
  s.rejected = zip_rejected(f.read_strings("rejected_paths"), f.read_strings("rejected_reasons"), path.string());
  return s;
}

void write_index(const std::filesystem::path& dir, const IndexContents& x) {
  auto path = dir / kIndexFileName;
  auto temp = fs::temporary_sibling(path);
  try {
    h5::File f(temp.string(), h5::File::Mode::create_truncate);
    f.set_attr("format", std::string(kShardFormat));
    f.set_attr("format_version", kShardFormatVersion);
    f.set_attr("role", std::string("index"));
    f.set_attr("creator", std::string("nucseg ") + NUCSEG_VERSION);
    f.set_attr("source_root", x.source_root);
    f.set_attr("layout", x.layout);
    f.set_attr("border_width", int64_t{x.border_width});
    f.set_attr("seed", int64_t{x.seed});
    f.set_attr("val_fraction", x.val_fraction);
    f.set_attr("channels", x.channels);
    f.set_attr("nucleus_diameter_median", median_training_diameter(x.entries));
    int64_t train = 0;
    for (const auto& e : x.entries) train += e.split == "train";
    f.set_attr("images", static_cast<int64_t>(x.entries.size()));
    f.set_attr("train_images", train);
    f.set_attr("val_images", static_cast<int64_t>(x.entries.size()) - train);
    f.set_attr("rejected", static_cast<int64_t>(x.rejected.size()));
    f.set_attr("checksum_algorithm", std::string(kChecksumAlgorithm));

    {  // every group closed before f.close(), so the file is whole before the rename
      auto shards = f.create_group("shards");
      shards.write_strings("file", x.shards);
      shards.write_strings("checksum", x.checksums);
      shards.write("count", x.counts, {x.counts.size()});

      // Per-image rows; `shard` indexes /shards/file, `slot` the group /images/<slot> there.
      std::vector<std::string> ids, splits, sources;
      std::vector<int32_t> shard, slot, height, width, depth, effective, nuclei;
      std::vector<double> diameter;
      for (const auto& e : x.entries) {
        ids.push_back(e.id);
        splits.push_back(e.split);
        sources.push_back(e.source);
        auto name = e.shard.filename().string();
        auto it = std::find(x.shards.begin(), x.shards.end(), name);
        if (it == x.shards.end()) throw_runtime("index: entry '" + e.id + "' names an unlisted shard " + name, path.string());
        shard.push_back(static_cast<int32_t>(it - x.shards.begin()));
        slot.push_back(e.slot);
        height.push_back(e.height);
        width.push_back(e.width);
        depth.push_back(e.bit_depth);
        effective.push_back(e.effective_bits);
        nuclei.push_back(e.nuclei);
        diameter.push_back(e.nucleus_diameter);
      }
      const hsize_t n = ids.size();
      auto entries = f.create_group("entries");
      entries.write_strings("id", ids);
      entries.write_strings("split", splits);
      entries.write_strings("source", sources);
      entries.write("shard", shard, {n});
      entries.write("slot", slot, {n});
      entries.write("height", height, {n});
      entries.write("width", width, {n});
      entries.write("bit_depth", depth, {n});
      entries.write("effective_bits", effective, {n});
      entries.write("nuclei", nuclei, {n});
      entries.write("nucleus_diameter", diameter, {n});

      std::vector<std::string> paths, reasons;
      for (const auto& r : x.rejected) {
        paths.push_back(r.path);
        reasons.push_back(r.reason);
      }
      auto rejected = f.create_group("rejected");
      rejected.write_strings("path", paths);
      rejected.write_strings("reason", reasons);
    }
    f.close();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    throw;
  }
  fs::commit_rename(temp, path);
}

}  // namespace nucseg::io
