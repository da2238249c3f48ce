// The nucleus sizes pack records and infer.diameter = "auto" measures.
#include "nucseg/segment/nucleus_size.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace {

using namespace nucseg::segment;

cv::Mat disks(cv::Size size, int radius, int count_x, int count_y) {
  cv::Mat labels = cv::Mat::zeros(size, CV_32S);
  int id = 1;
  for (int j = 0; j < count_y; ++j)
    for (int i = 0; i < count_x; ++i)
      cv::circle(labels, {(2 * i + 1) * (radius + 3), (2 * j + 1) * (radius + 3)}, radius, cv::Scalar(id++), cv::FILLED);
  return labels;
}

TEST(NucleusSize, MedianEquivalentDiameter) {
  cv::Mat labels = cv::Mat::zeros(60, 60, CV_32S);
  labels(cv::Rect(0, 0, 10, 10)).setTo(1);   // area 100
  labels(cv::Rect(20, 0, 4, 4)).setTo(2);    // area 16
  labels(cv::Rect(30, 30, 20, 20)).setTo(5); // area 400; label 3, 4 absent
  EXPECT_NEAR(median_equivalent_diameter(labels), std::sqrt(400.0 / M_PI), 1e-9);
  labels(cv::Rect(0, 50, 2, 2)).setTo(7);    // four objects: mean of the middle two
  EXPECT_NEAR(median_equivalent_diameter(labels), (std::sqrt(64.0 / M_PI) + std::sqrt(400.0 / M_PI)) / 2, 1e-9);
  EXPECT_EQ(median_equivalent_diameter(cv::Mat::zeros(5, 5, CV_32S)), 0.0);
}

TEST(NucleusSize, ForegroundDiameterOfDisksIsTheirDiameter) {
  // Separate rasterised disks: within 4% of their equivalent diameter.
  for (int radius : {6, 11, 20}) {
    const cv::Mat labels = disks({300, 300}, radius, 150 / (radius + 3), 150 / (radius + 3));
    const double d = median_equivalent_diameter(labels);
    EXPECT_NEAR(foreground_diameter(labels), d, 0.04 * d) << "radius " << radius;
  }
  EXPECT_EQ(foreground_diameter(cv::Mat::zeros(5, 5, CV_32S)), 0.0);
  EXPECT_EQ(foreground_diameter(cv::Mat()), 0.0);
  EXPECT_THROW(foreground_diameter(cv::Mat::zeros(5, 5, CV_8U)), nucseg::Error);
}

TEST(NucleusSize, ForegroundDiameterIgnoresFragmentation) {
  // Disks of radius 20 centred 46 px apart, then each cut into its 4 quadrants.
  const cv::Mat whole = disks({300, 300}, 20, 6, 6);
  cv::Mat cut = cv::Mat::zeros(whole.size(), CV_32S);
  for (int y = 0; y < whole.rows; ++y)
    for (int x = 0; x < whole.cols; ++x) {
      const int32_t v = whole.at<int32_t>(y, x);
      if (v == 0) continue;
      const int cx = ((x / 46) * 2 + 1) * 23, cy = ((y / 46) * 2 + 1) * 23;  // the disk's own centre
      cut.at<int32_t>(y, x) = 4 * v + (x >= cx ? 1 : 0) + (y >= cy ? 2 : 0);
    }
  const double d = median_equivalent_diameter(whole);
  EXPECT_LT(median_equivalent_diameter(cut), 0.6 * d);  // the pieces alone read about half the size
  EXPECT_DOUBLE_EQ(foreground_diameter(cut), foreground_diameter(whole));
  EXPECT_NEAR(foreground_diameter(cut), d, 0.04 * d);
}

}  // namespace
