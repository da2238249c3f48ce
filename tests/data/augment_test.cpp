// Targets stay aligned with the image under every augmentation: the image encodes each
// pixel's instance label, so after augmenting, decoding the image must give the labels back.
#include <gtest/gtest.h>

#include <random>

#include "nucseg/core/error.hpp"
#include "nucseg/data/augment.hpp"

using nucseg::data::AugmentParams;
using nucseg::data::Sample;

namespace {

// Blocks of `block` x `block` pixels, each its own instance; R and G carry the label.
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
      img.at<cv::Vec3b>(r, c) = {static_cast<uint8_t>(r / block), static_cast<uint8_t>(c / block), static_cast<uint8_t>(label % 3 * 100)};
    }
  if (sixteen_bit) {
    img.convertTo(s.image, CV_16UC3, 256.0);
    s.bit_depth = 16;
  } else {
    s.image = img;
  }
  return s;
}

int decode(const cv::Mat& image, int r, int c) {
  if (image.depth() == CV_16U) {
    auto v = image.at<cv::Vec3w>(r, c);
    return (v[0] / 256) * 1000 + (v[1] / 256) + 1;
  }
  auto v = image.at<cv::Vec3b>(r, c);
  return v[0] * 1000 + v[1] + 1;
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

AugmentParams geometric(int crop) {
  AugmentParams p;
  p.crop = crop;
  p.flip = true;
  p.rotate90 = true;
  return p;
}

}  // namespace

TEST(Augment, CropFlipRotateKeepTargetsAligned) {
  auto s = encoded_sample(90, 70);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    auto out = nucseg::data::augment(s, geometric(32), rng);
    ASSERT_EQ(out.image.rows, 32);
    ASSERT_EQ(out.image.cols, 32);
    ASSERT_EQ(out.image.type(), CV_8UC3);
    EXPECT_EQ(agreement(out), 1.0) << "seed " << seed;
  }
}

TEST(Augment, SmallImagesAreReflectPaddedConsistently) {
  auto s = encoded_sample(20, 13, true);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    auto out = nucseg::data::augment(s, geometric(64), rng);
    ASSERT_EQ(out.image.size(), cv::Size(64, 64));
    ASSERT_EQ(out.image.type(), CV_16UC3);
    EXPECT_EQ(agreement(out), 1.0) << "seed " << seed;
  }
}

TEST(Augment, ScaleJitterKeepsTargetsAlignedAwayFromEdges) {
  auto s = encoded_sample(160, 160, false, 12);
  auto p = geometric(48);
  p.scale_jitter = 0.3;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    auto out = nucseg::data::augment(s, p, rng);
    ASSERT_EQ(out.image.size(), cv::Size(48, 48));
    // Linear interpolation blends the image across block edges; nearest keeps the targets
    // sharp. Inside blocks (label constant over a 5x5 neighbourhood) they must agree exactly.
    long inside = 0, good = 0;
    for (int r = 2; r < 46; ++r)
      for (int c = 2; c < 46; ++c) {
        int l = out.labels.at<int>(r, c);
        bool flat = true;
        for (int dr = -2; dr <= 2; ++dr)
          for (int dc = -2; dc <= 2; ++dc) flat &= out.labels.at<int>(r + dr, c + dc) == l;
        if (!flat) continue;
        ++inside;
        good += decode(out.image, r, c) == l;
      }
    ASSERT_GT(inside, 100);
    EXPECT_EQ(good, inside) << "seed " << seed;
  }
}

TEST(Augment, SameSeedSameResultOtherSeedOtherResult) {
  auto s = encoded_sample(100, 100);
  auto p = geometric(40);
  p.intensity_jitter = 0.1;
  p.contrast_jitter = 0.2;
  p.scale_jitter = 0.2;
  auto seed = nucseg::data::sample_seed(7, 3, 11);
  EXPECT_EQ(seed, nucseg::data::sample_seed(7, 3, 11));
  EXPECT_NE(seed, nucseg::data::sample_seed(7, 3, 12));
  EXPECT_NE(seed, nucseg::data::sample_seed(7, 4, 11));
  EXPECT_NE(seed, nucseg::data::sample_seed(8, 3, 11));
  std::mt19937_64 a(seed), b(seed), c(seed + 1);
  auto x = nucseg::data::augment(s, p, a), y = nucseg::data::augment(s, p, b), z = nucseg::data::augment(s, p, c);
  EXPECT_EQ(cv::norm(x.image, y.image, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(x.labels, y.labels, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(x.labels, z.labels, cv::NORM_INF), 0.0);
}

TEST(Augment, IntensityJitterChangesOnlyTheImage) {
  Sample s = encoded_sample(40, 40);
  s.image.setTo(cv::Scalar(100, 120, 140));
  AugmentParams p;
  p.crop = 0;
  p.flip = p.rotate90 = false;
  p.intensity_jitter = 0.2;
  p.contrast_jitter = 0.5;
  bool changed = false;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed);
    auto out = nucseg::data::augment(s, p, rng);
    EXPECT_EQ(cv::norm(out.labels, s.labels, cv::NORM_INF), 0.0);
    EXPECT_EQ(cv::norm(out.classes, s.classes, cv::NORM_INF), 0.0);
    changed |= cv::norm(out.image, s.image, cv::NORM_INF) > 0;
    // An affine map per image: channel differences scale by the same gain.
    auto v = out.image.at<cv::Vec3b>(5, 5);
    EXPECT_NEAR(static_cast<int>(v[2]) - v[1], static_cast<int>(v[1]) - v[0], 1);
  }
  EXPECT_TRUE(changed);
}

TEST(Augment, TwelveBitImagesStayWithinTheirRange) {
  Sample s = encoded_sample(32, 32, true);
  s.bit_depth = 12;
  s.image.setTo(cv::Scalar(4000, 4000, 4000));
  AugmentParams p;
  p.crop = 0;
  p.flip = p.rotate90 = false;
  p.intensity_jitter = 0.5;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed);
    auto out = nucseg::data::augment(s, p, rng);
    double lo, hi;
    cv::minMaxLoc(out.image.reshape(1), &lo, &hi);
    EXPECT_LE(hi, 4095.0);
  }
}

TEST(Augment, MismatchedTargetsAreADataError) {
  Sample s = encoded_sample(32, 32);
  s.classes = cv::Mat::zeros(16, 16, CV_8UC1);
  std::mt19937_64 rng(1);
  EXPECT_THROW(nucseg::data::augment(s, geometric(16), rng), nucseg::Error);
}
