// Flat-layout masks: instance label images keep every nucleus, binary masks keep today's
// connected components, and auto tells them apart.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/mask.hpp"
#include "tiff_fixture.hpp"

using namespace nucseg::io;
namespace t = nucseg::testing;

namespace {

// Crowded nuclei that touch: the Voronoi cells of random seeds inside a few discs, labelled
// 1..N (0 background). Neighbouring cells share their border, so a binary mask merges them.
cv::Mat crowded_labels(cv::Size size, int seeds, uint64_t seed) {
  cv::RNG rng(seed);
  std::vector<cv::Point> centres;
  for (int k = 0; k < seeds; ++k) centres.emplace_back(rng.uniform(0, size.width), rng.uniform(0, size.height));
  cv::Mat inside(size, CV_8UC1, cv::Scalar(0));
  for (int k = 0; k < 3; ++k)
    cv::circle(inside, {rng.uniform(20, size.width - 20), rng.uniform(20, size.height - 20)}, size.width / 4,
               cv::Scalar(255), cv::FILLED);
  cv::Mat labels(size, CV_32SC1, cv::Scalar(0));
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      if (!inside.at<uint8_t>(y, x)) continue;
      int best = 0;
      double d = 1e18;
      for (int k = 0; k < seeds; ++k) {
        double dk = cv::norm(cv::Point(x, y) - centres[static_cast<size_t>(k)]);
        if (dk < d) d = dk, best = k;
      }
      labels.at<int32_t>(y, x) = best + 1;
    }
  // Keep only labels that appear (a seed outside the discs owns no pixel) and renumber.
  std::map<int32_t, int32_t> renumber;
  for (auto it = labels.begin<int32_t>(); it != labels.end<int32_t>(); ++it)
    if (*it) renumber.emplace(*it, 0);
  int32_t next = 1;
  for (auto& [from, to] : renumber) to = next++;
  for (auto it = labels.begin<int32_t>(); it != labels.end<int32_t>(); ++it)
    if (*it) *it = renumber[*it];
  return labels;
}

int count_labels(const cv::Mat& labels) {
  double hi = 0;
  cv::minMaxLoc(labels, nullptr, &hi);
  return static_cast<int>(hi);
}

// True when `a` and `b` split the image into the same regions (same background, and a
// one-to-one map between their label values).
bool same_partition(const cv::Mat& a, const cv::Mat& b) {
  std::map<int32_t, int32_t> ab, ba;
  for (int y = 0; y < a.rows; ++y)
    for (int x = 0; x < a.cols; ++x) {
      int32_t u = a.at<int32_t>(y, x), v = b.at<int32_t>(y, x);
      if ((u == 0) != (v == 0)) return false;
      if (ab.emplace(u, v).first->second != v || ba.emplace(v, u).first->second != u) return false;
    }
  return true;
}

// Writes a flat dataset image + mask and reads the mask back through the dataset reader.
cv::Mat read_flat(const std::filesystem::path& root, const std::string& id, const std::string& mask_ext,
                  const std::function<void(const std::filesystem::path&)>& write_mask, MaskKind kind,
                  MaskKind* used = nullptr) {
  write_mask(root / "masks" / (id + mask_ext));
  std::vector<DatasetItem> items = list_dataset(root, DatasetLayout::flat);
  for (const auto& item : items)
    if (item.id == id) return read_instance_labels(item, cv::Size(120, 100), kind, used);
  ADD_FAILURE() << "no item " << id;
  return {};
}

class Masks : public ::testing::Test {
 protected:
  void SetUp() override { root = t::fresh_dir("masks"); }
  void TearDown() override { std::filesystem::remove_all(root); }
  void add_image(const std::string& id) {
    t::write_png(root / "images" / (id + ".png"), cv::Mat(100, 120, CV_8UC3, cv::Scalar(9, 9, 9)));
  }
  std::filesystem::path root;
};

}  // namespace

TEST_F(Masks, LabelImagesOfTouchingNucleiKeepEveryNucleusImageByImage) {
  struct Case {
    std::string id, ext;
    int depth;
    int32_t offset, stride;  // stored value = offset + stride * label
  };
  const std::vector<Case> cases = {{"png16", ".png", CV_16U, 1000, 37},
                                   {"png8", ".png", CV_8U, 0, 1},
                                   {"tif32", ".tif", CV_32S, 100000, 4099},
                                   {"tif16", ".tiff", CV_16U, 5, 3}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    cv::Mat truth = crowded_labels({120, 100}, 40, 100 + i);
    ASSERT_GT(count_labels(truth), 25);
    cv::Mat stored = truth * c.stride + c.offset;
    stored.setTo(0, truth == 0);
    stored.convertTo(stored, c.depth);
    add_image(c.id);
    auto write = [&](const std::filesystem::path& p) {
      if (c.depth == CV_32S || c.ext != ".png") t::write_tiff(p, {{stored}});
      else t::write_png(p, stored);
    };
    MaskKind used = MaskKind::automatic;
    cv::Mat labels = read_flat(root, c.id, c.ext, write, MaskKind::automatic, &used);
    EXPECT_EQ(used, MaskKind::labels) << c.id;
    EXPECT_EQ(count_labels(labels), count_labels(truth)) << c.id;  // every nucleus kept
    EXPECT_TRUE(same_partition(labels, truth)) << c.id;
    // Read as binary, the touching nuclei merge into a few components: what auto avoids.
    cv::Mat merged = read_flat(root, c.id, c.ext, write, MaskKind::binary);
    EXPECT_LT(count_labels(merged), 6) << c.id;
  }
}

TEST_F(Masks, BinaryMasksKeepConnectedComponents) {
  cv::Mat two(100, 120, CV_8UC1, cv::Scalar(0));
  two(cv::Rect(1, 1, 3, 3)).setTo(255);
  two(cv::Rect(4, 4, 4, 4)).setTo(255);  // touches the first diagonally: one 8-connected nucleus
  two(cv::Rect(60, 50, 5, 5)).setTo(255);
  add_image("bin");
  MaskKind used = MaskKind::automatic;
  cv::Mat labels = read_flat(root, "bin", ".png", [&](const auto& p) { t::write_png(p, two); }, MaskKind::automatic, &used);
  EXPECT_EQ(used, MaskKind::binary);
  EXPECT_EQ(count_labels(labels), 2);
  EXPECT_EQ(cv::countNonZero(labels == 1), 9 + 16);

  // An RGBA mask with an opaque alpha everywhere: alpha is not foreground.
  cv::Mat bgra;
  cv::Mat planes[] = {two, two, two, cv::Mat(two.size(), CV_8UC1, cv::Scalar(255))};
  cv::merge(planes, 4, bgra);
  add_image("rgba");
  labels = read_flat(root, "rgba", ".png", [&](const auto& p) { t::write_png(p, bgra); }, MaskKind::automatic, &used);
  EXPECT_EQ(used, MaskKind::binary);
  EXPECT_EQ(count_labels(labels), 2);

  // labels forced on a binary mask: one value, one nucleus, even in two pieces.
  labels = read_flat(root, "bin", ".png", [&](const auto& p) { t::write_png(p, two); }, MaskKind::labels);
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(cv::countNonZero(labels), 9 + 16 + 25);
}

TEST_F(Masks, ColourCodedLabelsAndJpegMasks) {
  cv::Mat truth = crowded_labels({120, 100}, 20, 77);
  cv::Mat colour(truth.size(), CV_8UC3, cv::Scalar(0, 0, 0));
  for (int y = 0; y < truth.rows; ++y)
    for (int x = 0; x < truth.cols; ++x)
      if (int k = truth.at<int32_t>(y, x))
        colour.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(k * 40), static_cast<uint8_t>(k * 7), 200);
  add_image("colour");
  cv::Mat labels = read_flat(root, "colour", ".png", [&](const auto& p) { t::write_png(p, colour); }, MaskKind::automatic);
  EXPECT_TRUE(same_partition(labels, truth));

  // JPEG smears a binary mask into many values: auto still reads it as binary.
  cv::Mat blob(100, 120, CV_8UC1, cv::Scalar(0));
  cv::circle(blob, {60, 50}, 20, cv::Scalar(255), cv::FILLED);
  add_image("jpeg");
  MaskKind used = MaskKind::automatic;
  labels = read_flat(root, "jpeg", ".jpg", [&](const auto& p) { t::write_png(p, blob); }, MaskKind::automatic, &used);
  EXPECT_EQ(used, MaskKind::binary);
  double lo = 0, hi = 0;  // the disc is one nucleus (ringing specks around it are not its concern)
  cv::minMaxLoc(labels(cv::Rect(50, 40, 20, 20)), &lo, &hi);
  EXPECT_EQ(lo, hi);
  EXPECT_GT(lo, 0);
}

TEST(MaskKinds, ParseAndName) {
  EXPECT_EQ(parse_mask_kind("labels"), MaskKind::labels);
  EXPECT_STREQ(mask_kind_name(parse_mask_kind("auto")), "auto");
  try {
    parse_mask_kind("instances");
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "pack.mask_kind");
  }
}
