// Checks shared by the pack tests: a packed folder holds exactly what decoding the sources gives.
#pragma once

#include <gtest/gtest.h>

#include <map>

#include "nucseg/data/targets.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/shard.hpp"
#include "nucseg/pack/pack.hpp"

namespace nucseg::testing {

inline bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  cv::Mat diff;
  cv::compare(a.reshape(1), b.reshape(1), diff, cv::CMP_NE);
  return cv::countNonZero(diff) == 0;
}

// Every packed image equals, byte for byte, the direct decode of its source (so any two
// packings of the same folder, whatever their rank count, hold identical bytes per id).
inline void expect_matches_sources(const io::ShardDataset& d, const std::filesystem::path& root, int border_width,
                                   int seed, double val_fraction) {
  auto items = io::list_dataset(root, io::detect_layout(root), "images", "masks", nullptr);
  std::map<std::string, io::DatasetItem> by_id;
  for (auto& item : items) by_id[item.id] = item;
  for (size_t i = 0; i < d.size(); ++i) {
    auto r = d.read(i);
    ASSERT_TRUE(by_id.count(r.id)) << r.id;
    const auto& item = by_id[r.id];
    auto image = io::read_image(item.image);
    auto labels = io::read_instance_labels(item, image.rgb.size());
    EXPECT_TRUE(same_bytes(r.image, image.rgb)) << r.id;
    EXPECT_TRUE(same_bytes(r.labels, labels)) << r.id;
    EXPECT_TRUE(same_bytes(r.classes, data::class_targets(labels, border_width))) << r.id;
    EXPECT_EQ(d.entry(i).split, pack::split_for(r.id, seed, val_fraction)) << r.id;
    EXPECT_EQ(d.entry(i).source, item.image.string());
  }
}

}  // namespace nucseg::testing
