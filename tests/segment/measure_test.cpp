// measure_objects on shapes with answers known by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/measure.hpp"

using nucseg::segment::measure_objects;

TEST(Measure, RectangleByHand) {
  cv::Mat labels = cv::Mat::zeros(20, 30, CV_32SC1);
  labels(cv::Rect(5, 2, 6, 4)).setTo(3);  // rows 2..5, cols 5..10
  cv::Mat intensity(20, 30, CV_8UC1, cv::Scalar(10));
  intensity.at<uint8_t>(3, 6) = 200;
  const auto t = measure_objects("img", labels, intensity);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.image_id[0], "img");
  EXPECT_EQ(t.label[0], 3);
  EXPECT_DOUBLE_EQ(t.area[0], 24);
  EXPECT_DOUBLE_EQ(t.centroid_row[0], 3.5);
  EXPECT_DOUBLE_EQ(t.centroid_col[0], 7.5);
  EXPECT_EQ(t.bbox_min_row[0], 2);
  EXPECT_EQ(t.bbox_min_col[0], 5);
  EXPECT_EQ(t.bbox_max_row[0], 6);
  EXPECT_EQ(t.bbox_max_col[0], 11);
  EXPECT_NEAR(t.equivalent_diameter[0], std::sqrt(4 * 24 / M_PI), 1e-12);
  // Row variance (16-1)/12, column variance (36-1)/12: axes 4*sqrt of each.
  EXPECT_NEAR(t.major_axis_length[0], 4 * std::sqrt(35.0 / 12), 1e-9);
  EXPECT_NEAR(t.minor_axis_length[0], 4 * std::sqrt(15.0 / 12), 1e-9);
  EXPECT_NEAR(t.eccentricity[0], std::sqrt(1 - 15.0 / 35.0), 1e-9);
  EXPECT_NEAR(std::abs(t.orientation[0]), M_PI / 2, 1e-9);  // major axis along the columns
  EXPECT_DOUBLE_EQ(t.solidity[0], 1.0);
  // skimage's 4-connectivity perimeter: the 16 pixels of the border ring all weigh 1.
  EXPECT_NEAR(t.perimeter[0], 16.0, 1e-9);
  EXPECT_NEAR(t.mean_intensity[0], (23 * 10 + 200) / 24.0, 1e-9);
  EXPECT_DOUBLE_EQ(t.min_intensity[0], 10);
  EXPECT_DOUBLE_EQ(t.max_intensity[0], 200);
}

TEST(Measure, ConcaveShapeHasLowerSolidity) {
  cv::Mat labels = cv::Mat::zeros(20, 20, CV_32SC1);
  labels(cv::Rect(2, 2, 12, 3)).setTo(1);   // an L: 12x3 bar + 3x9 leg
  labels(cv::Rect(2, 5, 3, 9)).setTo(1);
  const auto t = measure_objects("l", labels, cv::Mat());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_DOUBLE_EQ(t.area[0], 63);
  EXPECT_NEAR(t.solidity[0], 63.0 / 99.0, 1e-12);  // skimage: 0.636363...
  EXPECT_TRUE(std::isnan(t.mean_intensity[0]));  // no intensity image given
}

TEST(Measure, MultiChannelSixteenBitAndSparseLabels) {
  cv::Mat labels = cv::Mat::zeros(10, 10, CV_32SC1);
  labels(cv::Rect(0, 0, 2, 2)).setTo(2000000000);
  labels(cv::Rect(5, 5, 3, 1)).setTo(7);
  cv::Mat rgb(10, 10, CV_16UC3, cv::Scalar(100, 200, 600));
  const auto t = measure_objects("x", labels, rgb);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.label[0], 7);  // increasing label order
  EXPECT_EQ(t.label[1], 2000000000);
  EXPECT_DOUBLE_EQ(t.area[1], 4);
  EXPECT_DOUBLE_EQ(t.mean_intensity[0], 300);
  EXPECT_DOUBLE_EQ(t.minor_axis_length[0], 0);  // a one-row line
  EXPECT_DOUBLE_EQ(t.eccentricity[0], 1);
  EXPECT_DOUBLE_EQ(t.solidity[0], 1);
}

TEST(Measure, EmptyAndBadInput) {
  EXPECT_EQ(measure_objects("e", cv::Mat::zeros(5, 5, CV_32SC1), cv::Mat()).size(), 0u);
  EXPECT_THROW(measure_objects("b", cv::Mat::zeros(5, 5, CV_32FC1), cv::Mat()), nucseg::Error);
  EXPECT_THROW(measure_objects("b", cv::Mat::zeros(5, 5, CV_32SC1), cv::Mat::zeros(4, 5, CV_8UC1)), nucseg::Error);
}

// Per source channel, raw values: mean and sum over each object's pixels, in table row order.
TEST(Measure, PerChannelMeansAndSums) {
  cv::Mat labels = cv::Mat::zeros(12, 16, CV_32SC1);
  labels(cv::Rect(1, 1, 3, 2)).setTo(4);  // 6 pixels
  labels(cv::Rect(8, 5, 2, 5)).setTo(9);  // 10 pixels
  cv::Mat raw(12, 16, CV_16UC(5), cv::Scalar::all(0));
  std::vector<cv::Mat> planes;
  cv::split(raw, planes);
  planes[0].setTo(1000);
  planes[3](cv::Rect(8, 5, 2, 5)).setTo(4095);
  planes[3].at<uint16_t>(1, 1) = 60;  // one pixel of object 4
  planes[4].setTo(7);
  cv::merge(planes, raw);
  auto t = measure_objects("m", labels, cv::Mat());
  nucseg::segment::measure_channels(labels, raw, t);
  ASSERT_EQ(t.channels(), 5u);
  ASSERT_EQ(t.label, (std::vector<int32_t>{4, 9}));
  EXPECT_EQ(t.channel_mean[0], (std::vector<double>{1000, 1000}));
  EXPECT_EQ(t.channel_integrated[0], (std::vector<double>{6000, 10000}));
  EXPECT_EQ(t.channel_mean[3], (std::vector<double>{10, 4095}));
  EXPECT_EQ(t.channel_integrated[3], (std::vector<double>{60, 40950}));
  EXPECT_EQ(t.channel_integrated[1], (std::vector<double>{0, 0}));
  EXPECT_EQ(t.channel_mean[4], (std::vector<double>{7, 7}));

  // Sparse label values, and a table row whose label has no pixel.
  cv::Mat sparse = cv::Mat::zeros(4, 4, CV_32SC1);
  sparse(cv::Rect(0, 0, 2, 1)).setTo(2000000000);
  cv::Mat gray(4, 4, CV_8UC1, cv::Scalar(3));
  nucseg::ObjectTable rows;
  rows.label = {5, 2000000000};
  nucseg::segment::measure_channels(sparse, gray, rows);
  EXPECT_TRUE(std::isnan(rows.channel_mean[0][0]));
  EXPECT_EQ(rows.channel_integrated[0][0], 0.0);
  EXPECT_EQ(rows.channel_mean[0][1], 3.0);
  EXPECT_EQ(rows.channel_integrated[0][1], 6.0);
  EXPECT_THROW(nucseg::segment::measure_channels(labels, cv::Mat(3, 3, CV_8UC1), t), nucseg::Error);
}
