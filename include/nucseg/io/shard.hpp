// HDF5 shards of packed training data (docs/formats.md has the schema).
//   shard file: self-describing root attributes, one group /images/<slot> per image holding
//               datasets image (H,W,3), labels (H,W), classes (H,W), plus per-image rows at
//               the root (ids, sources, splits, heights, widths, bit_depths, effective_bits,
//               nuclei, nucleus_diameters) and the inputs this shard's range rejected
//               (rejected_paths, rejected_reasons).
//   index.h5:   the shard list with counts and checksums, every image's entry, the rejected
//               table, the channel mapping pack applied and the median nucleus diameter.
// Version 2 added effective_bits, nucleus diameters and the channel mapping; version 1 files
// are still read (those fields then read as 0 / "rgb", what version 1 packed with).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/fs.hpp"
#include "nucseg/io/hdf5.hpp"

namespace nucseg::io {

inline constexpr const char* kShardFormat = "nucseg-shard";
inline constexpr int64_t kShardFormatVersion = 2;     // written
inline constexpr int64_t kShardFormatMinVersion = 1;  // oldest still read
inline constexpr const char* kIndexFileName = "index.h5";
// What index.h5's shard checksums and a shard's payload_checksum are: 64-bit FNV-1a with the
// standard offset basis (core/fs.hpp), 16 hex digits.
inline constexpr const char* kChecksumAlgorithm = "fnv1a64";

// One packed image as the trainer gets it.
struct ShardRecord {
  std::string id;
  cv::Mat image;    // CV_8UC3 or CV_16UC3, RGB
  cv::Mat labels;   // CV_32SC1 instance labels
  cv::Mat classes;  // CV_8UC1: 0 background, 1 interior, 2 border
  int bit_depth = 8;            // the container's: 8 or 16
  int effective_bits = 0;       // bits the largest value needs (12 for 0..4095); 0 = unknown (v1)
  double nucleus_diameter = 0;  // median equivalent diameter of its nuclei, px; 0 = none/unknown
};

struct ShardEntry {
  std::string id;
  std::string split;  // "train" or "val"
  int height = 0;
  int width = 0;
  int bit_depth = 8;
  int effective_bits = 0;       // 0 = unknown (version 1 shards)
  int nuclei = 0;
  double nucleus_diameter = 0;  // median equivalent diameter of its nuclei, px; 0 = none/unknown
  std::filesystem::path shard;  // absolute path of the shard file
  int slot = 0;                 // group /images/<slot> inside it
  std::string source;           // path of the source image
};

struct RejectedInput {
  std::string path;
  std::string reason;
};

// Attributes every shard of one pack run shares.
struct ShardHeader {
  std::string source_root;
  int border_width = 2;
  int compression = 4;  // gzip level, 0: none
  std::string plan;     // hash of the pack plan that produced the shard (resume check)
  int64_t first_item = 0;  // the range of the producing rank's work list this shard covers
  int64_t end_item = 0;
  std::string channels = "\"rgb\"";  // data.channels pack mapped the sources with (TOML text)
};

// The checksum a shard records of its own content, root attribute `payload_checksum`: 64-bit
// FNV-1a (standard basis) over each image in slot order (id, split, source, height, width,
// bit depth, effective bits, nucleus diameter, then the pixels as stored, the labels as int32
// and the classes as uint8, all in native byte order), then the header (source_root,
// border_width, compression, plan, first_item, end_item, count, channels). docs/formats.md has the exact byte layout.
class ShardChecksum final {
 public:
  void add(const ShardRecord& record, const std::string& split, const std::string& source);
  std::string finish(const ShardHeader& header, int64_t count) const;  // 16 hex digits

 private:
  uint64_t hash_ = fs::kFnvOffsetBasis;
};

// Writes one shard under a temporary sibling name; commit() renames it into place, so a
// shard file that exists is complete. Destroying an uncommitted writer removes the temp file.
// The shard records its payload checksum (ShardChecksum); commit() also gives the checksum of
// the whole file as written (fs::file_checksum), which index.h5 lists.
class ShardWriter final {
 public:
  ShardWriter(const std::filesystem::path& path, ShardHeader header);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  void add(const ShardRecord& record, const std::string& split, const std::string& source);
  void reject(const RejectedInput& rejected);
  void set_end_item(int64_t end_item) { header_.end_item = end_item; }
  void set_plan(const std::string& plan) { header_.plan = plan; }  // known once the shard's items are
  size_t count() const { return ids_.size(); }
  double raw_megabytes() const { return raw_bytes_ / 1e6; }  // uncompressed payload so far
  void commit();
  const std::string& file_checksum() const { return file_checksum_; }  // after commit()

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  ShardHeader header_;
  std::unique_ptr<h5::File> file_;
  h5::Group images_;
  std::vector<std::string> ids_, sources_, splits_;
  std::vector<int32_t> heights_, widths_, depths_, effective_bits_, nuclei_;
  std::vector<double> diameters_;
  std::vector<RejectedInput> rejected_;
  double raw_bytes_ = 0;
  ShardChecksum checksum_;
  std::string file_checksum_;
  bool committed_ = false;
};

// Error(data) unless `f` carries this format's name, a version this nucseg reads and the role
// ("shard" or "index"); returns the version.
int64_t check_shard_format(const h5::File& f, const std::string& role);

// What a complete shard file says about itself (without reading pixels).
struct ShardSummary {
  ShardHeader header;
  std::vector<ShardEntry> entries;  // in slot order
  std::vector<RejectedInput> rejected;
};
// Error(data) when the file is not a complete nucseg shard of this format version.
ShardSummary read_shard_summary(const std::filesystem::path& path);

// Reads every image of a complete shard back and compares the content with the checksum the
// shard recorded when it was written. Error(data) naming the file for a damaged shard, one that
// records no checksum (written before nucseg 0.2) or one that does not read back.
void verify_shard(const std::filesystem::path& path);

// Writes <dir>/index.h5 atomically. `shards` are file names relative to dir.
struct IndexContents {
  std::string source_root;
  std::string layout;
  int border_width = 2;
  int seed = 0;
  double val_fraction = 0.2;
  std::string channels = "\"rgb\"";  // data.channels of the pack run (TOML text)
  std::vector<std::string> shards;
  std::vector<std::string> checksums;  // fs::file_checksum of each shard (attribute checksum_algorithm)
  std::vector<int64_t> counts;
  std::vector<ShardEntry> entries;  // sorted by id
  std::vector<RejectedInput> rejected;
};
// Also writes the attribute nucleus_diameter_median (median_training_diameter of the entries).
void write_index(const std::filesystem::path& dir, const IndexContents& index);

// The median over the train-split images of their per-image median nucleus diameter (images
// without nuclei left out): each image counts once, however crowded. 0 when none has nuclei.
double median_training_diameter(const std::vector<ShardEntry>& entries);

// Reader of a shard folder. read() may be called from several threads at once.
class ShardDataset final {
 public:
  // Reads index.h5, validates format name and version, verifies each shard's checksum.
  // Error(data) naming the path for a missing folder/index, another format version or a
  // checksum mismatch.
  static ShardDataset open(const std::filesystem::path& dir);

  size_t size() const { return entries_.size(); }
  const ShardEntry& entry(size_t i) const;
  std::vector<size_t> indices(const std::string& split) const;
  const std::vector<RejectedInput>& rejected() const { return rejected_; }
  const std::filesystem::path& dir() const { return dir_; }
  int border_width() const { return border_width_; }
  int64_t format_version() const { return format_version_; }
  // The channel mapping the shards were packed with (TOML text, "\"rgb\"" for version 1).
  const std::string& channels() const { return channels_; }
  // Median nucleus diameter of the train split, px (index attribute); 0 = unknown (version 1).
  double nucleus_diameter_median() const { return nucleus_diameter_median_; }
  ShardRecord read(size_t i) const;

 private:
  struct OpenFiles;
  std::filesystem::path dir_;
  std::vector<ShardEntry> entries_;
  std::vector<size_t> entry_shard_;
  std::vector<RejectedInput> rejected_;
  int border_width_ = 0;
  int64_t format_version_ = 0;
  std::string channels_ = "\"rgb\"";
  double nucleus_diameter_median_ = 0;
  std::shared_ptr<OpenFiles> files_;
};

}  // namespace nucseg::io
