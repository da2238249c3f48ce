// Outlines along pixel edges: exact corners for simple shapes, and for random blobs a polygon
// whose enclosed pixel centres are exactly the object (holes filled).
#include "nucseg/segment/outlines.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace {

using nucseg::segment::trace_outlines;

// Even-odd rule at the centre of pixel (c, r).
bool contains(const std::vector<cv::Point>& poly, int c, int r) {
  const double x = c + 0.5, y = r + 0.5;
  bool in = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const cv::Point a = poly[i], b = poly[j];
    if ((a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / static_cast<double>(b.y - a.y)) in = !in;
  }
  return in;
}

double shoelace(const std::vector<cv::Point>& p) {
  double s = 0;
  for (size_t i = 0, j = p.size() - 1; i < p.size(); j = i++) s += static_cast<double>(p[j].x) * p[i].y - static_cast<double>(p[i].x) * p[j].y;
  return s / 2;
}

TEST(Outlines, RectangleHasItsFourCornersClockwise) {
  cv::Mat labels(6, 8, CV_32SC1, cv::Scalar(0));
  labels(cv::Rect(2, 1, 3, 2)).setTo(5);  // columns 2..4, rows 1..2
  auto out = trace_outlines(labels);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].label, 5);
  EXPECT_EQ(out[0].vertices, (std::vector<cv::Point>{{2, 1}, {5, 1}, {5, 3}, {2, 3}}));
  EXPECT_DOUBLE_EQ(shoelace(out[0].vertices), 6.0);  // positive: clockwise with y down
}

TEST(Outlines, ObjectsAtTheImageEdgeAndSinglePixels) {
  cv::Mat labels(3, 3, CV_32SC1, cv::Scalar(0));
  labels.at<int32_t>(0, 0) = 1;
  labels.at<int32_t>(2, 2) = 2;
  auto out = trace_outlines(labels);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].vertices, (std::vector<cv::Point>{{0, 0}, {1, 0}, {1, 1}, {0, 1}}));
  EXPECT_EQ(out[1].vertices, (std::vector<cv::Point>{{2, 2}, {3, 2}, {3, 3}, {2, 3}}));
}

TEST(Outlines, DiagonalNeighboursStayOneObject) {
  cv::Mat labels(4, 4, CV_32SC1, cv::Scalar(0));
  labels.at<int32_t>(1, 1) = 3;
  labels.at<int32_t>(2, 2) = 3;
  auto out = trace_outlines(labels);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(contains(out[0].vertices, 1, 1));
  EXPECT_TRUE(contains(out[0].vertices, 2, 2));
  EXPECT_FALSE(contains(out[0].vertices, 2, 1));
  EXPECT_FALSE(contains(out[0].vertices, 1, 2));
  EXPECT_DOUBLE_EQ(shoelace(out[0].vertices), 2.0);
}

// Random overlapping ellipses, touching each other, some with holes: the pixels whose centres
// the outline encloses are the object with its holes filled.
TEST(Outlines, EnclosedPixelsAreTheObjectWithHolesFilled) {
  cv::RNG rng(7);
  cv::Mat labels(120, 140, CV_32SC1, cv::Scalar(0));
  for (int i = 1; i <= 25; ++i) {
    cv::Point c(rng.uniform(5, 135), rng.uniform(5, 115));
    cv::ellipse(labels, c, cv::Size(rng.uniform(2, 12), rng.uniform(2, 9)), rng.uniform(0, 180), 0, 360, cv::Scalar(i), -1);
    if (i % 5 == 0) cv::circle(labels, c, 1, cv::Scalar(0), -1);  // a hole
  }
  auto outlines = trace_outlines(labels);
  ASSERT_GE(outlines.size(), 15u);
  for (const auto& o : outlines) {
    cv::Mat mask = labels == o.label;
    // The 8-connected part holding the first pixel, its 4-connected background holes filled.
    cv::Mat parts;
    cv::connectedComponents(mask, parts, 8, CV_32S);
    cv::Point first;
    for (int r = 0, found = 0; r < mask.rows && !found; ++r)
      for (int c = 0; c < mask.cols && !found; ++c)
        if (mask.at<uint8_t>(r, c)) first = {c, r}, found = 1;
    cv::Mat part = parts == parts.at<int32_t>(first);
    cv::Mat outside = cv::Mat::zeros(mask.rows + 2, mask.cols + 2, CV_8UC1);
    part.copyTo(outside(cv::Rect(1, 1, mask.cols, mask.rows)));
    cv::floodFill(outside, cv::Point(0, 0), cv::Scalar(128), nullptr, 0, 0, 4);
    cv::Mat filled = outside(cv::Rect(1, 1, mask.cols, mask.rows)) != 128;
    long mismatches = 0;
    for (int r = 0; r < mask.rows; ++r)
      for (int c = 0; c < mask.cols; ++c) mismatches += contains(o.vertices, c, r) != (filled.at<uint8_t>(r, c) != 0);
    EXPECT_EQ(mismatches, 0) << "label " << o.label;
    EXPECT_DOUBLE_EQ(shoelace(o.vertices), cv::countNonZero(filled)) << "label " << o.label;
  }
}

}  // namespace
