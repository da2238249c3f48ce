// The classical baseline on generated fluorescence-like and brightfield-like images.
#include <gtest/gtest.h>

#include <random>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/kaggle_score.hpp"
#include "nucseg/segment/classical.hpp"
#include "test_util.hpp"

namespace {

// Nuclei brighter (or darker) than the background, smooth edges, shading and noise.
cv::Mat render(const cv::Mat& labels, bool dark_nuclei, int depth, uint32_t seed) {
  cv::Mat f(labels.size(), CV_32FC1, cv::Scalar(0.15));
  f.setTo(0.75, labels > 0);
  cv::GaussianBlur(f, f, cv::Size(), 1.2);
  cv::Mat noise(labels.size(), CV_32FC1);
  cv::theRNG().state = seed;
  cv::randn(noise, 0.0, 0.05);
  f += noise;
  if (dark_nuclei) f = 1.0 - f;
  std::vector<cv::Mat> ch = {f * 0.9, f, f * 0.8};
  cv::Mat rgb;
  cv::merge(ch, rgb);
  rgb.convertTo(rgb, depth == CV_8U ? CV_8UC3 : CV_16UC3, depth == CV_8U ? 255.0 : 4095.0);
  return rgb;
}

}  // namespace

TEST(Classical, SegmentsBothPolarities) {
  double total = 0;
  int n = 0;
  for (const bool dark : {false, true}) {
    for (const int depth : {CV_8U, CV_16U}) {
      const uint32_t seed = static_cast<uint32_t>(n + 1);
      const cv::Mat truth = nucseg::test::touching_discs(192, 256, 25, 6.0, 12.0, seed);
      const cv::Mat labels = nucseg::segment::classical_watershed(render(truth, dark, depth, seed));
      ASSERT_EQ(labels.type(), CV_32SC1);
      const auto s = nucseg::segment::score_image(truth, labels);
      std::printf("classical: %s nuclei, %s: score %.4f (true %d, pred %d), fg IoU %.4f\n", dark ? "dark" : "bright",
                  depth == CV_8U ? "8-bit" : "16-bit", s.score, s.n_true, s.n_pred, s.fg_iou);
      EXPECT_GT(s.fg_iou, 0.85);  // polarity detected: the foreground is found
      // Distance maxima miss the smaller of two strongly overlapping discs now and then: the
      // classical baseline merges some touching pairs, which is why the network exists.
      EXPECT_GT(s.score, 0.4);
      EXPECT_GE(s.n_pred, s.n_true * 3 / 4);
      total += s.score;
      ++n;
    }
  }
  std::printf("classical: mean Kaggle score %.4f over %d images\n", total / n, n);
  EXPECT_GT(total / n, 0.6);
}

TEST(Classical, UniformImageHasNoObjectsAndBadTypesThrow) {
  const cv::Mat flat(32, 32, CV_8UC3, cv::Scalar(90, 90, 90));
  EXPECT_EQ(cv::countNonZero(nucseg::segment::classical_watershed(flat)), 0);
  EXPECT_THROW(nucseg::segment::classical_watershed(cv::Mat::zeros(8, 8, CV_32FC3)), nucseg::Error);
}
