// segment.min_confidence: objects whose mean foreground probability is low are removed after the
// seeding (the fragments a network draws in wide empty background of an image unlike its
// training set, docs/benchmarks.md); confident nuclei stay, whatever the seeding.
#include <gtest/gtest.h>

#include <set>

#include "nucseg/core/config.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/label_ops.hpp"
#include "test_util.hpp"

using namespace nucseg::segment;

namespace {

int count_objects(const cv::Mat& labels) {
  std::set<int> seen;
  for (auto it = labels.begin<int32_t>(); it != labels.end<int32_t>(); ++it)
    if (*it) seen.insert(*it);
  return static_cast<int>(seen.size());
}

// Probabilities of a scene: inside `labels`' objects P(background) = bg_inside[label], the rest
// split between interior (inner pixels) and border (the outermost ring); outside P(bg) = 0.9.
std::vector<cv::Mat> scene_probs(const cv::Mat& labels, const std::vector<float>& bg_inside) {
  const cv::Mat cls = nucseg::test::class_map_from_labels(labels, 1);
  std::vector<cv::Mat> p(3);
  p[0] = cv::Mat(labels.size(), CV_32FC1, cv::Scalar(0.9f));
  p[1] = cv::Mat(labels.size(), CV_32FC1, cv::Scalar(0.05f));
  p[2] = cv::Mat(labels.size(), CV_32FC1, cv::Scalar(0.05f));
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const int l = labels.at<int32_t>(y, x);
      if (l == 0) continue;
      const float bg = bg_inside[static_cast<size_t>(l)];
      const bool inner = cls.at<uint8_t>(y, x) == 1;
      p[0].at<float>(y, x) = bg;
      p[1].at<float>(y, x) = inner ? 0.9f * (1 - bg) : 0.1f * (1 - bg);
      p[2].at<float>(y, x) = inner ? 0.1f * (1 - bg) : 0.9f * (1 - bg);
    }
  return p;
}

}  // namespace

TEST(RemoveUnsureObjects, DropsObjectsBelowTheMeanConfidence) {
  cv::Mat labels = cv::Mat::zeros(20, 30, CV_32SC1), conf = cv::Mat::zeros(20, 30, CV_8UC1);
  labels(cv::Rect(0, 0, 10, 10)).setTo(1);
  conf(cv::Rect(0, 0, 10, 10)).setTo(200);  // mean 0.784
  labels(cv::Rect(10, 0, 10, 10)).setTo(2);
  conf(cv::Rect(10, 0, 10, 5)).setTo(255);  // half 255, half 145: mean 200 as well
  conf(cv::Rect(10, 5, 10, 5)).setTo(145);
  labels(cv::Rect(20, 0, 10, 10)).setTo(3);
  conf(cv::Rect(20, 0, 10, 10)).setTo(190);  // mean 0.745
  conf(cv::Rect(0, 10, 30, 10)).setTo(255);  // background pixels do not count

  cv::Mat kept = labels.clone();
  EXPECT_EQ(remove_unsure_objects(kept, conf, 0.75), 1);
  EXPECT_EQ(cv::countNonZero(kept == 1), 100);
  EXPECT_EQ(cv::countNonZero(kept == 2), 100);
  EXPECT_EQ(cv::countNonZero(kept == 3), 0);
  EXPECT_EQ(cv::countNonZero(kept), 200);

  kept = labels.clone();
  EXPECT_EQ(remove_unsure_objects(kept, conf, 0.79), 3);  // above 200 / 255: only the background stays
  EXPECT_EQ(cv::countNonZero(kept), 0);
  kept = labels.clone();
  EXPECT_EQ(remove_unsure_objects(kept, conf, 0.0), 0);  // off
  EXPECT_EQ(cv::countNonZero(kept != labels), 0);
  EXPECT_THROW(remove_unsure_objects(kept, cv::Mat::zeros(20, 29, CV_8UC1), 0.75), nucseg::Error);
  EXPECT_THROW(remove_unsure_objects(kept, cv::Mat::zeros(20, 30, CV_32FC1), 0.75), nucseg::Error);
}

// Two nuclei the network is sure of and a faint blob it barely calls foreground (P(bg) 0.4):
// every seeding keeps the nuclei; the blob goes at the default 0.75 and stays at 0.
TEST(MinConfidence, RemovesAFaintBlobInEverySeeding) {
  cv::Mat truth = cv::Mat::zeros(64, 96, CV_32SC1);
  nucseg::test::paint_disc(truth, 32, 16, 9, 1);
  nucseg::test::paint_disc(truth, 32, 46, 9, 2);
  nucseg::test::paint_disc(truth, 32, 76, 8, 3);
  const auto probs = scene_probs(truth, {0.9f, 0.05f, 0.1f, 0.4f});
  for (SeedMode mode : {SeedMode::distance, SeedMode::interior}) {
    SegmentParams params;
    params.seeds = mode;
    EXPECT_EQ(params.min_confidence, 0.75);
    cv::Mat labels = instances_from_probabilities(probs, params);
    EXPECT_EQ(count_objects(labels), 2) << static_cast<int>(mode);
    EXPECT_NE(labels.at<int32_t>(32, 16), 0);
    EXPECT_NE(labels.at<int32_t>(32, 46), 0);
    EXPECT_EQ(labels.at<int32_t>(32, 76), 0);
    double hi = 0;
    cv::minMaxLoc(labels, nullptr, &hi);
    EXPECT_EQ(hi, 2.0) << "labels renumbered after the removal";
    params.min_confidence = 0.0;
    EXPECT_EQ(count_objects(instances_from_probabilities(probs, params)), 3) << static_cast<int>(mode);
    params.min_confidence = 0.55;  // the blob's mean is 0.6
    EXPECT_EQ(count_objects(instances_from_probabilities(probs, params)), 3) << static_cast<int>(mode);
    params.min_confidence = 0.65;
    EXPECT_EQ(count_objects(instances_from_probabilities(probs, params)), 2) << static_cast<int>(mode);
  }
  // A hard class map has no probabilities to judge: nothing is removed.
  EXPECT_EQ(count_objects(instances_from_classes(nucseg::test::class_map_from_labels(truth, 2), SegmentParams{})), 3);
}

TEST(MinConfidence, ReadFromTheConfigAndChecked) {
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {}).segment).min_confidence, 0.75);
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {"segment.min_confidence=0"}).segment).min_confidence, 0.0);
  EXPECT_THROW(nucseg::load_config({}, {"segment.min_confidence=1.5"}), nucseg::Error);
  SegmentParams params;
  params.min_confidence = -0.1;
  EXPECT_THROW(ClassEvidence(cv::Size(8, 8), params), nucseg::Error);
}
