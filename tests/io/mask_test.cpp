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

namespace {

// Discs of radius 9 on a 12 x 4 grid inside 120 x 100, apart from each other; `n` of them.
cv::Mat separate_discs(int n) {
  cv::Mat m(100, 120, CV_8UC1, cv::Scalar(0));
  for (int k = 0; k < n; ++k) cv::circle(m, {12 + 24 * (k % 5), 14 + 24 * (k / 5)}, 9, cv::Scalar(255), cv::FILLED);
  return m;
}

}  // namespace

// The ways a binary annotation reaches users besides clean 0/255 PNGs, each read as the same
// nuclei: JPEG (lossy), smoothed outlines (anti-aliased drawing, a resampled mask), and white
// RGB over an alpha channel that holds the nuclei.
TEST_F(Masks, SmearedAndAlphaBinaryMasksKeepTheirNuclei) {
  const cv::Mat discs = separate_discs(6);
  const int area = cv::countNonZero(discs);
  auto check = [&](const std::string& id, const std::string& ext, const std::function<void(const std::filesystem::path&)>& write) {
    add_image(id);
    MaskKind used = MaskKind::automatic;
    cv::Mat labels = read_flat(root, id, ext, write, MaskKind::automatic, &used);
    EXPECT_EQ(used, MaskKind::binary) << id;
    EXPECT_EQ(count_labels(labels), 6) << id;  // no specks, no value read as a nucleus of its own
    EXPECT_NEAR(cv::countNonZero(labels), area, area / 20) << id;  // nuclei neither grown nor shrunk
  };
  check("jpeg", ".jpg", [&](const auto& p) {
    std::filesystem::create_directories(p.parent_path());
    ASSERT_TRUE(cv::imwrite(p.string(), discs, {cv::IMWRITE_JPEG_QUALITY, 75}));
  });
  cv::Mat soft;
  cv::GaussianBlur(discs, soft, {5, 5}, 1.0);
  ASSERT_GT(cv::countNonZero((soft > 0) & (soft < 255)), 100);  // the outlines hold many values
  check("soft", ".png", [&](const auto& p) { t::write_png(p, soft); });
  cv::Mat blurred;
  cv::GaussianBlur(discs, blurred, {9, 9}, 2.0);
  check("blurred", ".png", [&](const auto& p) { t::write_png(p, blurred); });
  cv::Mat soft16;
  soft.convertTo(soft16, CV_16U, 257);
  check("soft16", ".png", [&](const auto& p) { t::write_png(p, soft16); });
  cv::Mat white(discs.size(), CV_8UC1, cv::Scalar(255)), bgra;
  cv::Mat planes[] = {white, white, white, discs};
  cv::merge(planes, 4, bgra);
  check("alpha", ".png", [&](const auto& p) { t::write_png(p, bgra); });
  // Kaggle layout: one JPEG per nucleus, each its own disc again.
  const auto kroot = root / "kaggle";
  t::write_png(kroot / "k" / "images" / "k.png", cv::Mat(100, 120, CV_8UC3, cv::Scalar(9, 9, 9)));
  for (int k = 0; k < 6; ++k) {
    cv::Mat one = separate_discs(k + 1) & ~separate_discs(k);
    std::filesystem::create_directories(kroot / "k" / "masks");
    cv::imwrite((kroot / "k" / "masks" / ("m" + std::to_string(k) + ".jpg")).string(), one, {cv::IMWRITE_JPEG_QUALITY, 75});
  }
  auto items = list_dataset(kroot, DatasetLayout::kaggle);
  ASSERT_EQ(items.size(), 1u);
  cv::Mat labels = read_instance_labels(items[0], discs.size());
  EXPECT_EQ(count_labels(labels), 6);
  EXPECT_NEAR(cv::countNonZero(labels), area, area / 20);
}

// A soft-edge reading must not swallow a label image with one large nucleus and small ones,
// one of them touching it: nuclei are plateaus of one value.
TEST_F(Masks, LabelImageWithOneLargeNucleusStaysLabels) {
  cv::Mat labels8(100, 120, CV_8UC1, cv::Scalar(0));
  cv::circle(labels8, {60, 50}, 30, cv::Scalar(9), cv::FILLED);
  cv::circle(labels8, {20, 20}, 8, cv::Scalar(3), cv::FILLED);
  cv::circle(labels8, {100, 80}, 8, cv::Scalar(4), cv::FILLED);
  cv::circle(labels8, {88, 50}, 6, cv::Scalar(5), cv::FILLED);  // touches the large one
  add_image("big");
  MaskKind used = MaskKind::automatic;
  cv::Mat labels = read_flat(root, "big", ".png", [&](const auto& p) { t::write_png(p, labels8); }, MaskKind::automatic, &used);
  EXPECT_EQ(used, MaskKind::labels);
  EXPECT_EQ(count_labels(labels), 4);
}

// Nuclei 3-5 px across (half magnification), apart: no pixel inside a plateau, yet a label
// image, not a smoothed binary mask (no pixel has a higher neighbour).
TEST_F(Masks, LabelImageOfSmallNucleiStaysLabels) {
  cv::Mat small(100, 120, CV_8UC1, cv::Scalar(0));
  int n = 0;
  for (int y = 6; y < 100; y += 12)
    for (int x = 6; x < 120; x += 12) cv::circle(small, {x, y}, 1 + n % 2, cv::Scalar(++n), cv::FILLED);
  add_image("small");
  MaskKind used = MaskKind::automatic;
  cv::Mat labels = read_flat(root, "small", ".png", [&](const auto& p) { t::write_png(p, small); }, MaskKind::automatic, &used);
  EXPECT_EQ(used, MaskKind::labels);
  EXPECT_EQ(count_labels(labels), n);
}

TEST(AnnotationDoubt, NamesTheBackgroundReadAsANucleus) {
  cv::Mat discs = separate_discs(6), labels;
  cv::connectedComponents(discs, labels, 8, CV_32S);
  EXPECT_EQ(annotation_doubt(labels), "");
  cv::Mat inverted;
  cv::connectedComponents(~discs, inverted, 8, CV_32S);
  const auto doubt = annotation_doubt(inverted);
  EXPECT_NE(doubt.find("touches all four edges"), std::string::npos) << doubt;
  EXPECT_NE(doubt.find("inverted"), std::string::npos) << doubt;
  // One large nucleus in the middle (60% of the image, away from the edges) is not doubted.
  cv::Mat big(100, 120, CV_32SC1, cv::Scalar(0));
  big(cv::Rect(2, 2, 116, 60)).setTo(1);
  EXPECT_EQ(annotation_doubt(big), "");
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
