#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/data/targets.hpp"

using nucseg::data::class_targets;

namespace {
cv::Mat labels_from(const std::vector<std::vector<int>>& rows) {
  cv::Mat m(static_cast<int>(rows.size()), static_cast<int>(rows[0].size()), CV_32SC1);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) m.at<int32_t>(y, x) = rows[static_cast<size_t>(y)][static_cast<size_t>(x)];
  return m;
}
std::vector<std::vector<int>> as_rows(const cv::Mat& c) {
  std::vector<std::vector<int>> out(static_cast<size_t>(c.rows));
  for (int y = 0; y < c.rows; ++y)
    for (int x = 0; x < c.cols; ++x) out[static_cast<size_t>(y)].push_back(c.at<uint8_t>(y, x));
  return out;
}
}  // namespace

TEST(Targets, SquareNucleusHasOneRingOfBorder) {
  auto labels = labels_from({{0, 0, 0, 0, 0, 0},
                             {0, 1, 1, 1, 1, 0},
                             {0, 1, 1, 1, 1, 0},
                             {0, 1, 1, 1, 1, 0},
                             {0, 1, 1, 1, 1, 0},
                             {0, 0, 0, 0, 0, 0}});
  auto c = class_targets(labels, 1);
  EXPECT_EQ(c.type(), CV_8UC1);
  EXPECT_EQ(as_rows(c), (std::vector<std::vector<int>>{{0, 0, 0, 0, 0, 0},
                                                      {0, 2, 2, 2, 2, 0},
                                                      {0, 2, 1, 1, 2, 0},
                                                      {0, 2, 1, 1, 2, 0},
                                                      {0, 2, 2, 2, 2, 0},
                                                      {0, 0, 0, 0, 0, 0}}));
}

TEST(Targets, TouchingNucleiGetBorderOnBothSidesAndImageEdgeIsNoBorder) {
  // Nucleus 1 fills the left, 2 the right; they touch in the middle and both reach the edge.
  auto labels = labels_from({{1, 1, 1, 2, 2, 2},
                             {1, 1, 1, 2, 2, 2},
                             {1, 1, 1, 2, 2, 2},
                             {1, 1, 1, 2, 2, 2}});
  auto c = class_targets(labels, 1);
  EXPECT_EQ(as_rows(c), (std::vector<std::vector<int>>{{1, 1, 2, 2, 1, 1},
                                                      {1, 1, 2, 2, 1, 1},
                                                      {1, 1, 2, 2, 1, 1},
                                                      {1, 1, 2, 2, 1, 1}}));
}

TEST(Targets, WidthTwoAndDiagonalContact) {
  std::vector<std::vector<int>> rows(7, std::vector<int>(7, 3));
  rows[0][0] = 0;  // one background pixel in the corner of a 7x7 nucleus
  auto c = class_targets(labels_from(rows), 2);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 7; ++x) {
      int expected = (y == 0 && x == 0) ? 0 : (std::max(y, x) <= 2 ? 2 : 1);  // Chebyshev distance <= 2
      EXPECT_EQ(c.at<uint8_t>(y, x), expected) << "at " << x << "," << y;
    }
  // Nuclei touching only at a corner are both bordered there (8-connectivity).
  auto d = class_targets(labels_from({{1, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 2, 2}, {0, 0, 2, 2}}), 1);
  EXPECT_EQ(d.at<uint8_t>(1, 1), 2);
  EXPECT_EQ(d.at<uint8_t>(2, 2), 2);
}

TEST(Targets, LargeNucleusKeepsInteriorAndRejectsBadInput) {
  cv::Mat labels(20, 20, CV_32SC1, cv::Scalar(0));
  labels(cv::Rect(2, 2, 16, 16)).setTo(5);
  auto c = class_targets(labels, 3);
  EXPECT_EQ(cv::countNonZero(c == 1), 10 * 10);
  EXPECT_EQ(cv::countNonZero(c == 2), 16 * 16 - 10 * 10);
  EXPECT_THROW(class_targets(labels, 0), nucseg::Error);
  cv::Mat wrong(4, 4, CV_8UC1, cv::Scalar(0));
  EXPECT_THROW(class_targets(wrong, 1), nucseg::Error);
}
