// Targets stay aligned with the image under every augmentation: the image encodes each
// pixel's instance label, so after augmenting, decoding the image must give the labels back.
// Photometric steps change the image alone, each as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "nucseg/core/error.hpp"
#include "nucseg/data/augment.hpp"

using nucseg::data::AugmentParams;
using nucseg::data::Sample;
using nucseg::io::ChannelRange;

namespace {

// Blocks of `block` x `block` pixels, each its own instance; R and G carry the block row and
// column, B the class.
Sample encoded_sample(int rows, int cols, bool sixteen_bit = false, int block = 6) {
  Sample s;
  s.labels.create(rows, cols, CV_32SC1);
  s.classes.create(rows, cols, CV_8UC1);
  cv::Mat img(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      int label = (r / block) * 1000 + (c / block) + 1;
      s.labels.at<int>(r, c) = label;
      s.classes.at<uint8_t>(r, c) = static_cast<uint8_t>(label % 3);
      img.at<cv::Vec3b>(r, c) = {static_cast<uint8_t>(r / block), static_cast<uint8_t>(c / block),
                                 static_cast<uint8_t>(label % 3 * 100)};
    }
  if (sixteen_bit) img.convertTo(s.image, CV_16UC3, 256.0);
  else s.image = img;
  return s;
}

// Ranges that map raw values v to v / 255 (8-bit) or v / 65280 (the 16-bit copy): decoding
// is round(x * 255).
std::vector<ChannelRange> unit_ranges(const Sample& s) {
  const double hi = s.image.depth() == CV_16U ? 255.0 * 256.0 : 255.0;
  return std::vector<ChannelRange>(3, ChannelRange{0.0, hi});
}

int decode(const cv::Mat& image, int r, int c) {
  auto v = image.at<cv::Vec3f>(r, c);
  return static_cast<int>(std::lround(v[0] * 255)) * 1000 + static_cast<int>(std::lround(v[1] * 255)) + 1;
}

// Share of pixels whose decoded image label equals the label plane (and class = label % 3).
double agreement(const Sample& s) {
  long good = 0;
  for (int r = 0; r < s.image.rows; ++r)
    for (int c = 0; c < s.image.cols; ++c) {
      int l = s.labels.at<int>(r, c);
      good += decode(s.image, r, c) == l && s.classes.at<uint8_t>(r, c) == l % 3;
    }
  return static_cast<double>(good) / (static_cast<double>(s.image.rows) * s.image.cols);
}

// Pixels whose 5x5 neighbourhood holds one label (interpolation of the image blends across block
// edges while nearest keeps the targets sharp, so only these must agree exactly): (inside, good).
std::pair<long, long> agreement_inside_blocks(const Sample& s) {
  long inside = 0, good = 0;
  for (int r = 2; r < s.image.rows - 2; ++r)
    for (int c = 2; c < s.image.cols - 2; ++c) {
      int l = s.labels.at<int>(r, c);
      bool flat = true;
      for (int dr = -2; dr <= 2; ++dr)
        for (int dc = -2; dc <= 2; ++dc) flat &= s.labels.at<int>(r + dr, c + dc) == l;
      if (!flat) continue;
      ++inside;
      good += decode(s.image, r, c) == l && s.classes.at<uint8_t>(r, c) == l % 3;
    }
  return {inside, good};
}

AugmentParams geometric(int crop) {
  AugmentParams p;
  p.crop = crop;
  p.flip = true;
  p.rotate90 = true;
  return p;
}

// No crop, no flip, no rotation, every photometric step off: each test turns on what it checks.
AugmentParams unchanged() {
  auto p = geometric(0);
  p.flip = p.rotate90 = false;
  return p;
}

// `s` with its image made gray: channel `channel` in all three planes.
Sample gray_copy(const Sample& s, int channel) {
  Sample g = s;
  cv::Mat plane;
  cv::extractChannel(s.image, plane, channel);
  cv::merge(std::vector<cv::Mat>{plane, plane, plane}, g.image);
  return g;
}

Sample run(const Sample& s, const AugmentParams& p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return nucseg::data::augment(s, unit_ranges(s), p, rng);
}

}  // namespace

TEST(Augment, CropFlipRotateKeepTargetsAlignedAndGiveFloats) {
  auto s = encoded_sample(90, 70);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto out = run(s, geometric(32), seed);
    ASSERT_EQ(out.image.size(), cv::Size(32, 32));
    ASSERT_EQ(out.image.type(), CV_32FC3);
    EXPECT_EQ(agreement(out), 1.0) << "seed " << seed;
  }
}

TEST(Augment, SmallImagesAreReflectPaddedConsistently) {
  auto s = encoded_sample(20, 13, true);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto out = run(s, geometric(64), seed);
    ASSERT_EQ(out.image.size(), cv::Size(64, 64));
    EXPECT_EQ(agreement(out), 1.0) << "seed " << seed;
  }
}

TEST(Augment, ScaleJitterZoomsBothWaysAndKeepsTargetsAligned) {
  auto s = encoded_sample(300, 300, false, 12);
  auto p = geometric(48);
  p.scale_jitter = 1.0;  // zoom 0.5 .. 2
  int magnified = 0, shrunk = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    auto out = run(s, p, seed);
    ASSERT_EQ(out.image.size(), cv::Size(48, 48));
    auto [inside, good] = agreement_inside_blocks(out);
    ASSERT_GT(inside, 100);
    EXPECT_EQ(good, inside) << "seed " << seed;
    // Distinct labels in the crop tell the zoom: 12-px blocks at zoom 1 give ~16-25 of them.
    std::set<int> labels(out.labels.begin<int>(), out.labels.end<int>());
    magnified += labels.size() <= 12;
    shrunk += labels.size() >= 30;
  }
  EXPECT_GT(magnified, 0);
  EXPECT_GT(shrunk, 0);
}

TEST(Augment, GridDistortionMovesPixelsAndKeepsTargetsAligned) {
  auto s = encoded_sample(96, 96, false, 12);
  auto p = unchanged();
  p.distort = 0.06;
  int moved = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto out = run(s, p, seed);
    ASSERT_EQ(out.image.size(), s.image.size());
    auto [inside, good] = agreement_inside_blocks(out);
    ASSERT_GT(inside, 1000);
    EXPECT_EQ(good, inside) << "seed " << seed;
    moved += cv::norm(out.labels, s.labels, cv::NORM_L1) > 0;
  }
  EXPECT_GE(moved, 18);  // the amplitude is drawn from 0 .. strength: almost every sample moves
}

TEST(Augment, SameSeedSameResultOtherSeedOtherResult) {
  auto s = encoded_sample(100, 100);
  auto p = AugmentParams::from(nucseg::DataConfig{});  // the configured defaults: everything on
  p.crop = 64;
  auto seed = nucseg::data::sample_seed(7, 3, 11);
  EXPECT_EQ(seed, nucseg::data::sample_seed(7, 3, 11));
  EXPECT_NE(seed, nucseg::data::sample_seed(7, 3, 12));
  EXPECT_NE(seed, nucseg::data::sample_seed(7, 4, 11));
  EXPECT_NE(seed, nucseg::data::sample_seed(8, 3, 11));
  auto x = run(s, p, seed), y = run(s, p, seed), z = run(s, p, seed + 1);
  EXPECT_EQ(cv::norm(x.image, y.image, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(x.labels, y.labels, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(x.labels, z.labels, cv::NORM_INF), 0.0);
}

// Each photometric step, alone at a high strength: the targets are untouched, the image changes.
TEST(Augment, PhotometricStepsChangeOnlyTheImage) {
  auto s = encoded_sample(40, 40);
  std::vector<std::pair<const char*, AugmentParams>> steps;
  auto base = unchanged();
  auto with = [&](const char* name, auto set) {
    auto p = base;
    set(p);
    steps.emplace_back(name, p);
  };
  with("gray", [](AugmentParams& p) { p.gray = 1.0; });
  with("shuffle", [](AugmentParams& p) { p.channel_shuffle = 1.0; });
  with("hue", [](AugmentParams& p) { p.hue_jitter = 0.3; });
  with("channel", [](AugmentParams& p) { p.channel_jitter = 0.5; });
  with("gamma", [](AugmentParams& p) { p.gamma = 0.5; });
  with("contrast", [](AugmentParams& p) { p.contrast_jitter = 0.5; });
  with("brightness", [](AugmentParams& p) { p.intensity_jitter = 0.3; });
  with("blur", [](AugmentParams& p) { p.blur = 1.0; });
  with("noise", [](AugmentParams& p) { p.noise = 0.2; });
  const auto plain = run(s, base, 0);
  for (const auto& [name, p] : steps) {
    bool changed = false;
    for (uint64_t seed = 0; seed < 5; ++seed) {
      auto out = run(s, p, seed);
      EXPECT_EQ(cv::norm(out.labels, s.labels, cv::NORM_INF), 0.0) << name;
      EXPECT_EQ(cv::norm(out.classes, s.classes, cv::NORM_INF), 0.0) << name;
      changed |= cv::norm(out.image, plain.image, cv::NORM_INF) > 1e-3;
    }
    EXPECT_TRUE(changed) << name;
  }
}

TEST(Augment, GrayConversionAndInversion) {
  auto s = encoded_sample(30, 30);
  auto plain = unchanged();
  auto p = plain;
  p.gray = 1.0;
  auto out = run(s, p, 1);
  EXPECT_TRUE(nucseg::data::is_gray(out.image));
  auto v = out.image.at<cv::Vec3f>(13, 7);
  auto raw = s.image.at<cv::Vec3b>(13, 7);  // (2, 1, 100): the luminance of the unit values
  EXPECT_NEAR(v[0], (0.299 * raw[0] + 0.587 * raw[1] + 0.114 * raw[2]) / 255.0, 1e-5);
  EXPECT_FALSE(nucseg::data::is_gray(run(s, plain, 1).image));

  // Inversion applies to gray images only: 1 - x.
  p.gray = 0;
  p.invert = 1.0;
  EXPECT_EQ(cv::norm(run(s, p, 2).image, run(s, plain, 2).image, cv::NORM_INF), 0.0) << "colour inverted";
  const Sample g = gray_copy(s, 2);
  auto inv = run(g, p, 3);
  auto gv = g.image.at<cv::Vec3b>(13, 7);
  EXPECT_NEAR(inv.image.at<cv::Vec3f>(13, 7)[1], 1.0 - gv[1] / 255.0, 1e-6);
}

// A shuffled crop holds the plain crop's three planes, each whole, in an order other than RGB;
// over a few seeds more than one order comes out; gray crops are left alone.
TEST(Augment, ChannelShuffleReordersWholePlanes) {
  auto s = encoded_sample(30, 30);
  auto plain = unchanged();
  auto p = plain;
  p.channel_shuffle = 1.0;
  std::set<std::vector<int>> orders;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    std::vector<cv::Mat> in, out;
    cv::split(run(s, plain, seed).image, in);
    cv::split(run(s, p, seed).image, out);
    std::vector<int> order;
    for (const auto& plane : out)
      for (int c = 0; c < 3; ++c)
        if (cv::norm(plane, in[c], cv::NORM_INF) == 0.0) order.push_back(c);
    ASSERT_EQ(order.size(), 3u) << "seed " << seed << ": a plane is not one of the input's";
    EXPECT_NE(order, (std::vector<int>{0, 1, 2})) << "seed " << seed;
    orders.insert(order);
  }
  EXPECT_GE(orders.size(), 3u);

  const Sample g = gray_copy(s, 1);
  EXPECT_EQ(cv::norm(run(g, p, 5).image, run(g, plain, 5).image, cv::NORM_INF), 0.0);
}

TEST(Augment, ColourJitterLeavesGrayImagesAlone) {
  const Sample g = gray_copy(encoded_sample(30, 30), 0);
  auto p = unchanged();
  auto plain = run(g, p, 4);
  p.hue_jitter = 0.5;
  p.channel_jitter = 1.0;
  EXPECT_EQ(cv::norm(run(g, p, 4).image, plain.image, cv::NORM_INF), 0.0);
}

TEST(Augment, MismatchedTargetsAreADataError) {
  Sample s = encoded_sample(32, 32);
  s.classes = cv::Mat::zeros(16, 16, CV_8UC1);
  std::mt19937_64 rng(1);
  EXPECT_THROW(nucseg::data::augment(s, unit_ranges(s), geometric(16), rng), nucseg::Error);
}
