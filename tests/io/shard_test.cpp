#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/shard.hpp"

using namespace nucseg::io;
namespace t = nucseg::testing;

namespace {

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  cv::Mat diff;
  cv::compare(a.reshape(1), b.reshape(1), diff, cv::CMP_NE);
  return cv::countNonZero(diff) == 0;
}

ShardRecord random_record(const std::string& id, int rows, int cols, bool wide, int max_label, uint64_t seed) {
  cv::RNG rng(seed);
  ShardRecord r;
  r.id = id;
  r.bit_depth = wide ? 16 : 8;
  r.image.create(rows, cols, wide ? CV_16UC3 : CV_8UC3);
  rng.fill(r.image, cv::RNG::UNIFORM, 0, wide ? 65536 : 256);
  r.labels.create(rows, cols, CV_32SC1);
  rng.fill(r.labels, cv::RNG::UNIFORM, 0, max_label + 1);
  r.labels.at<int32_t>(0, 0) = max_label;
  r.classes.create(rows, cols, CV_8UC1);
  rng.fill(r.classes, cv::RNG::UNIFORM, 0, 3);
  return r;
}

// Writes one shard with `records` and an index listing it.
void pack_by_hand(const std::filesystem::path& dir, const std::vector<ShardRecord>& records) {
  ShardHeader header{"/src", 2, 4, "plan", 0, 0};
  {
    ShardWriter w(dir / "s.h5", header);
    for (const auto& r : records) w.add(r, r.id == "b" ? "val" : "train", "/src/" + r.id + ".png");
    w.reject({"/src/bad.png", "zero-byte image file"});
    w.set_end_item(static_cast<int64_t>(records.size()) + 1);
    w.commit();
  }
  auto summary = read_shard_summary(dir / "s.h5");
  IndexContents index;
  index.source_root = "/src";
  index.layout = "kaggle";
  index.shards = {"s.h5"};
  index.checksums = {nucseg::fs::file_checksum(dir / "s.h5")};
  index.counts = {static_cast<int64_t>(summary.entries.size())};
  index.entries = summary.entries;
  std::sort(index.entries.begin(), index.entries.end(), [](auto& a, auto& b) { return a.id < b.id; });
  index.rejected = summary.rejected;
  write_index(dir, index);
}

}  // namespace

TEST(Shard, RoundTripIsBitExact) {
  auto dir = t::fresh_dir("shard");
  std::vector<ShardRecord> records = {random_record("c", 33, 17, false, 40, 1), random_record("a", 20, 31, true, 7, 2),
                                      random_record("b", 9, 5, false, 70000, 3)};  // labels beyond uint16
  records[0].effective_bits = 8;
  records[1].effective_bits = 12;
  records[0].nucleus_diameter = 21.5;
  records[1].nucleus_diameter = 10.0;
  records[2].nucleus_diameter = 99.0;  // "b" is val: not in the training median
  pack_by_hand(dir, records);
  auto d = ShardDataset::open(dir);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.entry(0).id, "a");
  EXPECT_EQ(d.entry(0).bit_depth, 16);
  EXPECT_EQ(d.entry(0).height, 20);
  EXPECT_EQ(d.entry(0).width, 31);
  EXPECT_EQ(d.entry(0).source, "/src/a.png");
  EXPECT_EQ(d.entry(1).nuclei, 70000);
  EXPECT_EQ(d.indices("val"), std::vector<size_t>{1});
  EXPECT_EQ(d.indices("train"), (std::vector<size_t>{0, 2}));
  ASSERT_EQ(d.rejected().size(), 1u);
  EXPECT_EQ(d.rejected()[0].reason, "zero-byte image file");
  EXPECT_EQ(d.border_width(), 2);
  EXPECT_EQ(d.format_version(), kShardFormatVersion);
  EXPECT_EQ(d.entry(0).effective_bits, 12);
  EXPECT_EQ(d.entry(2).effective_bits, 8);
  EXPECT_DOUBLE_EQ(d.entry(0).nucleus_diameter, 10.0);
  EXPECT_DOUBLE_EQ(d.entry(1).nucleus_diameter, 99.0);
  EXPECT_DOUBLE_EQ(d.nucleus_diameter_median(), (10.0 + 21.5) / 2);  // train images a and c
  EXPECT_EQ(d.channels(), "\"rgb\"");
  for (size_t i = 0; i < d.size(); ++i) {
    auto r = d.read(i);
    const auto& original = *std::find_if(records.begin(), records.end(), [&](auto& x) { return x.id == r.id; });
    EXPECT_TRUE(same_bytes(r.image, original.image)) << r.id;
    EXPECT_TRUE(same_bytes(r.labels, original.labels)) << r.id;
    EXPECT_TRUE(same_bytes(r.classes, original.classes)) << r.id;
    EXPECT_EQ(r.bit_depth, original.bit_depth);
    EXPECT_EQ(r.effective_bits, original.effective_bits);
    EXPECT_DOUBLE_EQ(r.nucleus_diameter, original.nucleus_diameter);
  }
  // Concurrent reads (the trainer's loader threads) give the same bytes.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep) {
        size_t i = static_cast<size_t>(k + rep) % d.size();
        auto r = d.read(i);
        const auto& original = *std::find_if(records.begin(), records.end(), [&](auto& x) { return x.id == r.id; });
        if (!same_bytes(r.image, original.image) || !same_bytes(r.labels, original.labels)) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  std::filesystem::remove_all(dir);
}

TEST(Shard, UncommittedWriterLeavesNoFile) {
  auto dir = t::fresh_dir("shard_uncommitted");
  {
    ShardWriter w(dir / "s.h5", ShardHeader{});
    w.add(random_record("x", 4, 4, false, 3, 4), "train", "x.png");
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST(Shard, OpenRejectsMissingFolderChecksumMismatchAndOtherVersion) {
  auto dir = t::fresh_dir("shard_bad");
  auto expect_data_error = [](const std::filesystem::path& d, const std::string& text) {
    try {
      ShardDataset::open(d);
      ADD_FAILURE() << "no error, expected: " << text;
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect_data_error(dir / "nowhere", "shard folder does not exist");
  expect_data_error(dir, "no index.h5");
  pack_by_hand(dir, {random_record("a", 8, 8, false, 3, 5)});
  ASSERT_NO_THROW(ShardDataset::open(dir));
  {
    // Flip one byte in the shard: the checksum must catch it.
    std::fstream f(dir / "s.h5", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-10, std::ios::end);
    char c = 0;
    f.get(c);
    f.seekp(-10, std::ios::end);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  expect_data_error(dir, "checksum mismatch");
  pack_by_hand(dir, {random_record("a", 8, 8, false, 3, 5)});
  {
    nucseg::h5::File f((dir / kIndexFileName).string(), nucseg::h5::File::Mode::read_write);
    f.set_attr("format_version", int64_t{99});
  }
  expect_data_error(dir, "format version 99");
  std::filesystem::remove_all(dir);
}

// A folder packed by format version 1 (no effective_bits, diameters or channels) still opens:
// those read as 0 / "rgb", and the pixels are as stored.
TEST(Shard, VersionOneFoldersAreStillRead) {
  auto dir = t::fresh_dir("shard_v1");
  auto record = random_record("a", 12, 10, true, 5, 6);
  record.effective_bits = 16;
  record.nucleus_diameter = 7.0;
  pack_by_hand(dir, {record});
  auto downgrade = [](const std::filesystem::path& file, std::vector<const char*> datasets, std::vector<const char*> attrs) {
    nucseg::h5::File f(file.string(), nucseg::h5::File::Mode::read_write);
    for (const char* d : datasets) ASSERT_GE(H5Ldelete(f.id(), d, H5P_DEFAULT), 0) << d;
    for (const char* a : attrs) ASSERT_GE(H5Adelete(f.id(), a), 0) << a;
    f.set_attr("format_version", int64_t{1});
  };
  downgrade(dir / "s.h5", {"effective_bits", "nucleus_diameters"}, {"channels"});
  {
    auto summary = read_shard_summary(dir / "s.h5");
    ASSERT_EQ(summary.entries.size(), 1u);
    EXPECT_EQ(summary.entries[0].effective_bits, 0);
    EXPECT_EQ(summary.entries[0].nucleus_diameter, 0.0);
    EXPECT_EQ(summary.header.channels, "\"rgb\"");
    IndexContents index;
    index.shards = {"s.h5"};
    index.checksums = {nucseg::fs::file_checksum(dir / "s.h5")};
    index.counts = {1};
    index.entries = summary.entries;
    write_index(dir, index);
  }
  downgrade(dir / kIndexFileName, {"entries/effective_bits", "entries/nucleus_diameter"},
            {"channels", "nucleus_diameter_median"});
  auto d = ShardDataset::open(dir);
  EXPECT_EQ(d.format_version(), 1);
  EXPECT_EQ(d.channels(), "\"rgb\"");
  EXPECT_EQ(d.nucleus_diameter_median(), 0.0);
  EXPECT_EQ(d.entry(0).effective_bits, 0);
  EXPECT_TRUE(same_bytes(d.read(0).image, record.image));
  std::filesystem::remove_all(dir);
}

TEST(Shard, MedianTrainingDiameterCountsEachTrainImageOnce) {
  auto entry = [](const char* split, double d) {
    ShardEntry e;
    e.split = split;
    e.nucleus_diameter = d;
    return e;
  };
  EXPECT_EQ(median_training_diameter({}), 0.0);
  EXPECT_EQ(median_training_diameter({entry("val", 10)}), 0.0);
  EXPECT_DOUBLE_EQ(median_training_diameter({entry("train", 12), entry("train", 0), entry("val", 50), entry("train", 30),
                                             entry("train", 14)}),
                   14.0);  // 0 (no nuclei) left out: median of 12, 14, 30
}

// A shard verifies against the checksum it recorded when written; a label pixel changed
// afterwards (uncompressed, so no filter notices) is caught.
TEST(Shard, VerifyCatchesAChangedLabelPixel) {
  auto dir = t::fresh_dir("shard_verify");
  ShardHeader header{"/src", 2, 0, "plan", 0, 2};
  {
    ShardWriter w(dir / "s.h5", header);
    w.add(random_record("a", 12, 10, false, 5, 8), "train", "/src/a.png");
    w.add(random_record("b", 7, 9, true, 3, 9), "val", "/src/b.png");
    w.commit();
    EXPECT_EQ(w.file_checksum(), nucseg::fs::file_checksum(dir / "s.h5"));
  }
  ASSERT_NO_THROW(verify_shard(dir / "s.h5"));
  {
    nucseg::h5::File f((dir / "s.h5").string(), nucseg::h5::File::Mode::read_write);
    nucseg::h5::Handle set(H5Dopen2(f.id(), "images/000001/labels", H5P_DEFAULT));
    ASSERT_TRUE(set.valid());
    uint16_t changed[7 * 9];
    ASSERT_GE(H5Dread(set.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, changed), 0);
    changed[20] = static_cast<uint16_t>(changed[20] + 1);
    ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, changed), 0);
  }
  try {
    verify_shard(dir / "s.h5");
    ADD_FAILURE() << "a changed label pixel passed verification";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

// index.h5 of nucseg 0.1 (no checksum_algorithm; checksums with the old basis) still opens.
TEST(Shard, OldIndexWithLegacyChecksumsOpens) {
  auto dir = t::fresh_dir("shard_legacy");
  pack_by_hand(dir, {random_record("a", 8, 8, false, 3, 5)});
  {
    nucseg::h5::File f((dir / kIndexFileName).string(), nucseg::h5::File::Mode::read_write);
    ASSERT_EQ(H5Adelete(f.id(), "checksum_algorithm"), 0);
    ASSERT_EQ(H5Ldelete(f.id(), "shards/checksum", H5P_DEFAULT), 0);
    auto shards = f.open_group("shards");
    shards.write_strings("checksum", {nucseg::fs::file_checksum(dir / "s.h5", nucseg::fs::kLegacyFnvBasis)});
  }
  EXPECT_NO_THROW(ShardDataset::open(dir));
  std::filesystem::remove_all(dir);
}
