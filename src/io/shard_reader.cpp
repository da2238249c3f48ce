// ShardDataset: the trainer's view of a shard folder.
#include <cstdio>
#include <mutex>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/shard.hpp"
#include "shard_slot.hpp"

namespace nucseg::io {

// Shard files stay open once touched: reopening costs an HDF5 open plus metadata reads
// per image, and the thread-safe HDF5 build serialises calls on one handle anyway.
struct ShardDataset::OpenFiles {
  std::vector<std::filesystem::path> paths;
  std::vector<std::unique_ptr<h5::File>> files;
  std::mutex mutex;

  const h5::File& get(size_t shard) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!files[shard]) files[shard] = std::make_unique<h5::File>(paths[shard].string(), h5::File::Mode::read);
    return *files[shard];
  }
};

ShardDataset ShardDataset::open(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw_data(dir.string(), "shard folder does not exist");
  auto index_path = dir / kIndexFileName;
  if (!std::filesystem::exists(index_path, ec))
    throw_data(index_path.string(), "no index.h5 in the shard folder (nucseg_pack did not finish there)");
  h5::File f(index_path.string(), h5::File::Mode::read);
  const int64_t version = check_shard_format(f, "index");

  ShardDataset d;
  d.dir_ = dir;
  d.border_width_ = static_cast<int>(f.attr_int("border_width"));
  d.format_version_ = version;
  if (version >= 2) {
    d.channels_ = f.attr_string("channels");
    d.nucleus_diameter_median_ = f.attr_double("nucleus_diameter_median");
  }
  d.files_ = std::make_shared<OpenFiles>();
  auto shards = f.open_group("shards");
  auto names = shards.read_strings("file");
  auto sums = shards.read_strings("checksum");
  // Indexes of nucseg 0.1 carry no algorithm name: their checksums used FNV's basis with its
  // last digit lost (core/fs.hpp).
  uint64_t basis = fs::kLegacyFnvBasis;
  if (f.has_attr("checksum_algorithm")) {
    auto algorithm = f.attr_string("checksum_algorithm");
    if (algorithm != kChecksumAlgorithm)
      throw_data(index_path.string(), "unknown shard checksum algorithm '" + algorithm + "'");
    basis = fs::kFnvOffsetBasis;
  }
  if (sums.size() != names.size()) throw_data(index_path.string(), "shard table columns differ in length");
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != fs::safe_component(names[i])) throw_data(index_path.string(), "shard name escapes the folder: " + names[i]);
    auto path = dir / names[i];
    if (!std::filesystem::exists(path, ec)) throw_data(path.string(), "shard listed in index.h5 is missing");
    auto actual = fs::file_checksum(path, basis);
    if (actual != sums[i])
      throw_data(path.string(), "shard checksum mismatch: index.h5 says " + sums[i] + ", the file has " + actual +
                                    " (modified or corrupt; re-run nucseg_pack with pack.overwrite=true)");
    d.files_->paths.push_back(path);
  }
  d.files_->files.resize(names.size());

  auto e = f.open_group("entries");
  auto ids = e.read_strings("id");
  auto splits = e.read_strings("split");
  auto sources = e.read_strings("source");
  auto shard = e.read<int32_t>("shard");
  auto slot = e.read<int32_t>("slot");
  auto height = e.read<int32_t>("height");
  auto width = e.read<int32_t>("width");
  auto depth = e.read<int32_t>("bit_depth");
  auto nuclei = e.read<int32_t>("nuclei");
  const size_t n = ids.size();
  // Version 1 indexes lack these columns: 0 = unknown.
  auto effective = version >= 2 ? e.read<int32_t>("effective_bits") : std::vector<int32_t>(n, 0);
  auto diameter = version >= 2 ? e.read<double>("nucleus_diameter") : std::vector<double>(n, 0.0);
  if (diameter.size() != n) throw_data(index_path.string(), "entry table columns differ in length");
  for (const auto* v : {&shard, &slot, &height, &width, &depth, &effective, &nuclei})
    if (v->size() != n) throw_data(index_path.string(), "entry table columns differ in length");
  if (splits.size() != n || sources.size() != n) throw_data(index_path.string(), "entry table columns differ in length");
  for (size_t i = 0; i < n; ++i) {
    if (shard[i] < 0 || static_cast<size_t>(shard[i]) >= names.size())
      throw_data(index_path.string(), "entry '" + ids[i] + "' points to no listed shard");
    ShardEntry x;
    x.id = ids[i];
    x.split = splits[i];
    x.height = height[i];
    x.width = width[i];
    x.bit_depth = depth[i];
    x.effective_bits = effective[i];
    x.nuclei = nuclei[i];
    x.nucleus_diameter = diameter[i];
    x.shard = d.files_->paths[static_cast<size_t>(shard[i])];
    x.slot = slot[i];
    x.source = sources[i];
    d.entries_.push_back(std::move(x));
    d.entry_shard_.push_back(static_cast<size_t>(shard[i]));
  }
  auto r = f.open_group("rejected");
  auto paths = r.read_strings("path");
  auto reasons = r.read_strings("reason");
  if (paths.size() != reasons.size()) throw_data(index_path.string(), "rejected table columns differ in length");
  for (size_t i = 0; i < paths.size(); ++i) d.rejected_.push_back({paths[i], reasons[i]});
  return d;
}

const ShardEntry& ShardDataset::entry(size_t i) const {
  if (i >= entries_.size()) throw_runtime("ShardDataset: entry " + std::to_string(i) + " out of range", dir_.string());
  return entries_[i];
}

std::vector<size_t> ShardDataset::indices(const std::string& split) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].split == split) out.push_back(i);
  return out;
}

ShardRecord read_shard_slot(const h5::File& file, const ShardEntry& e) {
  char slot[16];
  std::snprintf(slot, sizeof slot, "%06d", e.slot);
  auto g = file.open_group(std::string("images/") + slot);
  const std::string where = e.shard.string() + ":/images/" + slot;
  if (g.attr_string("id") != e.id) throw_data(where, "shard image id differs from index.h5 ('" + e.id + "')");
  const auto h = static_cast<hsize_t>(e.height), w = static_cast<hsize_t>(e.width);
  if (g.shape("image") != std::vector<hsize_t>{h, w, 3} || g.shape("labels") != std::vector<hsize_t>{h, w} ||
      g.shape("classes") != std::vector<hsize_t>{h, w})
    throw_data(where, "dataset shapes differ from index.h5");
  ShardRecord r;
  r.id = e.id;
  r.bit_depth = e.bit_depth;
  r.effective_bits = e.effective_bits;
  r.nucleus_diameter = e.nucleus_diameter;
  bool wide = g.stored_type("image") == h5::Type::u16;
  r.image.create(e.height, e.width, wide ? CV_16UC3 : CV_8UC3);
  g.read("image", wide ? h5::Type::u16 : h5::Type::u8, r.image.data);
  r.labels.create(e.height, e.width, CV_32SC1);
  g.read("labels", h5::Type::i32, r.labels.data);
  r.classes.create(e.height, e.width, CV_8UC1);
  g.read("classes", h5::Type::u8, r.classes.data);
  return r;
}

ShardRecord ShardDataset::read(size_t i) const {
  const auto& e = entry(i);
  return read_shard_slot(files_->get(entry_shard_[i]), e);
}

}  // namespace nucseg::io
