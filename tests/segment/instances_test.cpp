// Instances from class probabilities / class maps: touching nuclei split by a border band,
// small objects removed, holes filled, labels consecutive.
#include <gtest/gtest.h>

#include <set>

#include "nucseg/core/error.hpp"
#include "nucseg/eval/kaggle.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/label_ops.hpp"
#include "test_support.hpp"

using namespace nucseg::segment;
using nucseg::test::class_map_from_labels;

namespace {

// Soft probabilities from a hard class map: the labelled class gets `confidence`, the other
// two share the rest, so the three maps sum to 1.
std::vector<cv::Mat> soft_probs(const cv::Mat& cls, float confidence) {
  std::vector<cv::Mat> probs(3);
  for (int k = 0; k < 3; ++k) {
    probs[static_cast<size_t>(k)] = cv::Mat(cls.size(), CV_32FC1, cv::Scalar((1.0f - confidence) / 2));
    probs[static_cast<size_t>(k)].setTo(confidence, cls == k);
  }
  return probs;
}

int count_labels(const cv::Mat& labels) {
  std::set<int> seen;
  for (auto it = labels.begin<int32_t>(); it != labels.end<int32_t>(); ++it)
    if (*it) seen.insert(*it);
  if (!seen.empty()) {
    EXPECT_EQ(*seen.begin(), 1);
    EXPECT_EQ(*seen.rbegin(), static_cast<int>(seen.size())) << "labels are not consecutive";
  }
  return static_cast<int>(seen.size());
}

}  // namespace

TEST(Instances, TwoTouchingDiscsSeparatedOnlyByBorderBand) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);  // overlaps: the discs touch along a chord
  const cv::Mat cls = class_map_from_labels(truth, 2);
  // The foreground is one connected blob: only the border class separates the nuclei.
  cv::Mat fg_cc;
  ASSERT_EQ(cv::connectedComponents(cls != 0, fg_cc), 2);
  const SegmentParams params;
  const cv::Mat from_classes = instances_from_classes(cls, params);
  EXPECT_EQ(count_labels(from_classes), 2);
  EXPECT_GT(nucseg::eval::score_image(truth, from_classes).score, 0.9);

  const cv::Mat from_probs = instances_from_probabilities(soft_probs(cls, 0.8f), params);
  EXPECT_EQ(count_labels(from_probs), 2);
  EXPECT_GT(nucseg::eval::score_image(truth, from_probs).score, 0.9);
  // Without the border band the same blob is one object.
  const cv::Mat merged = instances_from_classes(cv::Mat(cls != 0) / 255, params);
  EXPECT_EQ(count_labels(merged), 1);
}

TEST(Instances, RecoversManyTouchingNucleiFromDerivedClassMap) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const cv::Mat truth = nucseg::test::touching_discs(160, 200, 30, 6.0, 12.0, seed);
    const cv::Mat cls = class_map_from_labels(truth, 2);
    SegmentParams params;
    params.min_area = 4;
    const cv::Mat pred = instances_from_classes(cls, params);
    const auto s = nucseg::eval::score_image(truth, pred);
    EXPECT_GT(s.score, 0.9) << "seed " << seed << " n_true " << s.n_true << " n_pred " << s.n_pred;
    EXPECT_EQ(s.n_pred, s.n_true) << "seed " << seed;
    const cv::Mat pp = instances_from_probabilities(soft_probs(cls, 0.7f), params);
    EXPECT_GT(nucseg::eval::score_image(truth, pp).score, 0.9) << "seed " << seed;
  }
}

TEST(Instances, SmallObjectsRemoved) {
  cv::Mat cls = cv::Mat::zeros(40, 40, CV_8UC1);
  cls(cv::Rect(5, 5, 10, 10)).setTo(2);
  cls(cv::Rect(7, 7, 6, 6)).setTo(1);  // 100 px object
  cls(cv::Rect(30, 30, 3, 3)).setTo(1);  // 9 px object
  SegmentParams params;
  params.min_area = 12;
  cv::Mat labels = instances_from_classes(cls, params);
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(labels.at<int32_t>(31, 31), 0);
  EXPECT_EQ(cv::countNonZero(labels), 100);
  params.min_area = 9;
  EXPECT_EQ(count_labels(instances_from_classes(cls, params)), 2);
}

TEST(Instances, HolesFilled) {
  cv::Mat cls = cv::Mat::zeros(40, 40, CV_8UC1);
  cls(cv::Rect(5, 5, 20, 20)).setTo(2);
  cls(cv::Rect(7, 7, 16, 16)).setTo(1);
  cls(cv::Rect(12, 12, 5, 5)).setTo(0);  // background hole inside the nucleus
  const cv::Mat labels = instances_from_classes(cls, SegmentParams{});
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(labels.at<int32_t>(14, 14), 1);
  EXPECT_EQ(cv::countNonZero(labels), 400);
}

TEST(Instances, ForegroundWithoutSeedIsKept) {
  cv::Mat cls = cv::Mat::zeros(30, 30, CV_8UC1);
  cls(cv::Rect(2, 2, 6, 6)).setTo(2);  // a small nucleus predicted as border only
  cls(cv::Rect(15, 15, 10, 10)).setTo(2);
  cls(cv::Rect(17, 17, 6, 6)).setTo(1);
  const cv::Mat labels = instances_from_classes(cls, SegmentParams{});
  EXPECT_EQ(count_labels(labels), 2);
  EXPECT_NE(labels.at<int32_t>(4, 4), 0);
}

TEST(Instances, SeedThresholdControlsSeeds) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);
  auto probs = soft_probs(class_map_from_labels(truth, 2), 0.6f);
  SegmentParams params;
  params.seed_threshold = 0.5;
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 2);
  params.seed_threshold = 0.65;  // no interior pixel is that confident: one blob, no split
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 1);
}

TEST(Instances, RejectsBadInput) {
  EXPECT_THROW(instances_from_probabilities({cv::Mat::zeros(4, 4, CV_32FC1)}, SegmentParams{}), nucseg::Error);
  EXPECT_THROW(instances_from_classes(cv::Mat::zeros(4, 4, CV_32SC1), SegmentParams{}), nucseg::Error);
  cv::Mat bad = cv::Mat::zeros(4, 4, CV_8UC1);
  bad.at<uint8_t>(1, 1) = 7;
  EXPECT_THROW(instances_from_classes(bad, SegmentParams{}), nucseg::Error);
  SegmentParams p;
  p.seed_threshold = 1.5;
  EXPECT_THROW(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), p), nucseg::Error);
  EXPECT_EQ(cv::countNonZero(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), SegmentParams{})), 0);
}

TEST(LabelOps, FloodSplitsPlateauHalfway) {
  cv::Mat markers = cv::Mat::zeros(1, 11, CV_32SC1);
  markers.at<int32_t>(0, 0) = 1;
  markers.at<int32_t>(0, 10) = 2;
  const cv::Mat elevation = cv::Mat::ones(1, 11, CV_32FC1);
  cv::Mat mask = cv::Mat(1, 11, CV_8UC1, cv::Scalar(1));
  mask.at<uint8_t>(0, 5) = 1;
  flood_markers(elevation, mask, markers);
  EXPECT_EQ(markers.at<int32_t>(0, 4), 1);
  EXPECT_EQ(markers.at<int32_t>(0, 6), 2);
  cv::Mat lab = (cv::Mat_<int32_t>(1, 6) << 0, 5, 5, 0, 9, 9);
  EXPECT_EQ(relabel_sequential(lab), 2);
  EXPECT_EQ(lab.at<int32_t>(0, 4), 2);
}
