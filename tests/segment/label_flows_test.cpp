#include "nucseg/segment/label_flows.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace {

using nucseg::segment::flow_error;
using nucseg::segment::flow_targets;

// Two discs of radius 9 that overlap a little (centres 17 px apart), labels 1 and 2.
cv::Mat two_nuclei() {
  cv::Mat labels(32, 48, CV_32SC1, cv::Scalar(0));
  cv::circle(labels, cv::Point(14, 16), 9, cv::Scalar(1), cv::FILLED);
  cv::circle(labels, cv::Point(31, 16), 9, cv::Scalar(2), cv::FILLED);
  return labels;
}

// A flow field as a flow head writes it: (1 + d) / 2 x 255 in two 8-bit planes.
void quantise(const cv::Mat& flow, cv::Mat& fy, cv::Mat& fx) {
  std::vector<cv::Mat> planes;
  cv::split(flow, planes);
  planes[0].convertTo(fy, CV_8U, 127.5, 127.5);
  planes[1].convertTo(fx, CV_8U, 127.5, 127.5);
}

// The flow the true labels imply, against those labels, against the two nuclei merged into one
// label, and against one of them cut in two: the error is the 8-bit rounding only where the
// labels are right, and grows by orders of magnitude where they merge or cut.
TEST(FlowError, SmallWhereTheLabelsFitTheFlowLargeWhereTheyMergeOrCut) {
  const cv::Mat truth = two_nuclei();
  cv::Mat fy, fx;
  quantise(flow_targets(truth), fy, fx);
  const double right = flow_error(truth, fy, fx);
  EXPECT_GE(right, 0.0);
  EXPECT_LT(right, 2.0 * (1.0 / 255.0) * (1.0 / 255.0) + 1e-9);  // at most half a step per component

  cv::Mat merged = truth.clone();
  merged.setTo(1, truth == 2);
  const double merge = flow_error(merged, fy, fx);
  cv::Mat cut = truth.clone();
  cut(cv::Rect(14, 0, 10, 32)).setTo(3, truth(cv::Rect(14, 0, 10, 32)) == 1);
  const double split = flow_error(cut, fy, fx);
  // Merged: the merged label's centre lies at the contact, so about half of each nucleus'
  // pixels point away from it (1.22 here); cut: the cut-off part of nucleus 1 points to the
  // old centre, not its own (0.43). Both 10^4 x the rounding of the right labels.
  EXPECT_GT(merge, 1e4 * right);
  EXPECT_GT(split, 1e4 * right);
  EXPECT_GT(merge, 0.8);
  EXPECT_LT(merge, 2.0);
  EXPECT_GT(split, 0.25);
  EXPECT_LT(split, 0.8);
}

TEST(FlowError, MinusOneWithoutLabelsAndErrorsForWrongInputs) {
  const cv::Mat none(8, 8, CV_32SC1, cv::Scalar(0));
  const cv::Mat plane(8, 8, CV_8UC1, cv::Scalar(128));
  EXPECT_EQ(flow_error(none, plane, plane), -1.0);
  EXPECT_THROW(flow_error(cv::Mat(8, 8, CV_8UC1, cv::Scalar(1)), plane, plane), nucseg::Error);
  EXPECT_THROW(flow_error(none, cv::Mat(8, 7, CV_8UC1, cv::Scalar(128)), plane), nucseg::Error);
  EXPECT_THROW(flow_error(none, plane, cv::Mat(8, 8, CV_32FC1, cv::Scalar(0))), nucseg::Error);
}

}  // namespace
