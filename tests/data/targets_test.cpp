#include <gtest/gtest.h>

#include <cmath>

#include <opencv2/imgproc.hpp>

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
// A 5 x 5 nucleus (1) touching a 3 x 3 one (2) along a column, both inside the image.
cv::Mat touching_pair() {
  return labels_from({{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                      {0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0},
                      {0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0},
                      {0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0},
                      {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
                      {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
                      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}});
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

// The distance head's target: 1 at each nucleus' centre whatever its size, (d + 1) / (D + 1)
// inward from the outline, 0 on the background; touching nuclei meet in a valley; the image
// edge is no boundary.
TEST(DistanceTargets, PeakOneAtEachCentreValleyBetweenTouchingNuclei) {
  using nucseg::data::distance_targets;
  const cv::Mat labels = touching_pair();
  const cv::Mat d = distance_targets(labels);
  ASSERT_EQ(d.type(), CV_32FC1);
  ASSERT_EQ(d.size(), labels.size());
  EXPECT_EQ(d.at<float>(0, 0), 0.0f);
  EXPECT_EQ(d.at<float>(4, 7), 0.0f);
  // Nucleus 1 (5 x 5): outline pixels d = 0, the ring inside d = 1, the centre d = 2 -> 1/3, 2/3, 1.
  EXPECT_FLOAT_EQ(d.at<float>(1, 1), 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(d.at<float>(2, 2), 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(d.at<float>(3, 3), 1.0f);
  // Nucleus 2 (3 x 3) peaks at 1 too; the column where 1 and 2 touch is an outline of both.
  EXPECT_FLOAT_EQ(d.at<float>(2, 7), 1.0f);
  EXPECT_FLOAT_EQ(d.at<float>(2, 6), 0.5f);
  EXPECT_FLOAT_EQ(d.at<float>(2, 5), 1.0f / 3.0f);
  for (int y = 0; y < d.rows; ++y)
    for (int x = 0; x < d.cols; ++x) EXPECT_EQ(d.at<float>(y, x) > 0.0f, labels.at<int32_t>(y, x) > 0) << y << "," << x;

  // A nucleus filling the image: the edge is not its boundary, so it has no outline and its
  // map is flat at 1.
  const cv::Mat whole = distance_targets(cv::Mat(5, 7, CV_32SC1, cv::Scalar(4)));
  EXPECT_EQ(cv::countNonZero(whole != 1.0f), 0);
  EXPECT_THROW(distance_targets(cv::Mat(4, 4, CV_8UC1, cv::Scalar(1))), nucseg::Error);
}

// Unit vectors to each nucleus' own centre (its pixel farthest from its boundary): the two
// touching nuclei's vectors point apart across their contact; background and centres are 0.
TEST(FlowTargets, UnitVectorsToEachNucleusOwnCentre) {
  using nucseg::data::flow_targets;
  const cv::Mat labels = touching_pair();
  const cv::Mat f = flow_targets(labels);
  ASSERT_EQ(f.type(), CV_32FC2);
  ASSERT_EQ(f.size(), labels.size());
  auto at = [&f](int y, int x) { return f.at<cv::Vec2f>(y, x); };
  // Centres: (3, 3) for nucleus 1 (5 x 5), (2, 7) for nucleus 2 (3 x 3).
  EXPECT_EQ(at(3, 3), cv::Vec2f(0, 0));
  EXPECT_EQ(at(2, 7), cv::Vec2f(0, 0));
  EXPECT_EQ(at(0, 0), cv::Vec2f(0, 0));
  EXPECT_EQ(at(4, 7), cv::Vec2f(0, 0));
  // Across the contact between columns 5 and 6 (row 2): left points left, right points right.
  EXPECT_FLOAT_EQ(at(2, 5)[0], 1.0f / std::sqrt(5.0f));
  EXPECT_FLOAT_EQ(at(2, 5)[1], -2.0f / std::sqrt(5.0f));
  EXPECT_FLOAT_EQ(at(2, 6)[0], 0.0f);
  EXPECT_FLOAT_EQ(at(2, 6)[1], 1.0f);
  // A corner of nucleus 1 points diagonally in; every nucleus pixel but the centres has length 1.
  EXPECT_FLOAT_EQ(at(1, 1)[0], std::sqrt(0.5f));
  EXPECT_FLOAT_EQ(at(1, 1)[1], std::sqrt(0.5f));
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x) {
      const bool centre = (y == 3 && x == 3) || (y == 2 && x == 7);
      const float length = static_cast<float>(cv::norm(at(y, x)));
      EXPECT_NEAR(length, labels.at<int32_t>(y, x) > 0 && !centre ? 1.0f : 0.0f, 1e-6) << y << "," << x;
    }
  EXPECT_THROW(flow_targets(cv::Mat(3, 3, CV_8UC1, cv::Scalar(1))), nucseg::Error);
}

// A ring-shaped nucleus (a thick C): the pixels farthest from its boundary lie on a bent ridge
// whose centroid falls in the hole, outside the nucleus. The centre is then the ridge pixel
// nearest to that centroid: exactly one pixel of the nucleus has a zero vector, and the
// vectors of the pixels next to it point at it.
TEST(FlowTargets, CentreOfARingStaysInsideIt) {
  using nucseg::data::flow_targets;
  cv::Mat labels(21, 21, CV_32SC1, cv::Scalar(0));
  cv::circle(labels, cv::Point(10, 10), 8, cv::Scalar(1), cv::FILLED);
  cv::circle(labels, cv::Point(10, 10), 4, cv::Scalar(0), cv::FILLED);
  labels(cv::Rect(15, 8, 6, 5)).setTo(0);  // the C's opening on the right
  const cv::Mat f = flow_targets(labels);
  int zero = 0;
  cv::Point centre(-1, -1);
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x)
      if (labels.at<int32_t>(y, x) == 1 && f.at<cv::Vec2f>(y, x) == cv::Vec2f(0, 0)) {
        ++zero;
        centre = cv::Point(x, y);
      }
  ASSERT_EQ(zero, 1);
  EXPECT_EQ(labels.at<int32_t>(10, 10), 0);  // the plain centroid would be in the hole
  EXPECT_LT(centre.x, 10);                      // the ridge pixel opposite the opening
  ASSERT_EQ(labels.at<int32_t>(centre.y + 1, centre.x), 1);
  const cv::Vec2f below = f.at<cv::Vec2f>(centre.y + 1, centre.x);
  EXPECT_NEAR(below[0], -1.0f, 1e-6);
  EXPECT_NEAR(below[1], 0.0f, 1e-6);
}

// Even-sided and elongated nuclei have many pixels farthest from their boundary: the centre is
// their centroid, so the targets of a flipped or turned label image are the original targets
// flipped or turned, their vectors with them (what augmentation does to a crop).
TEST(FlowTargets, TurnWithTheImage) {
  using nucseg::data::flow_targets;
  cv::Mat labels(12, 14, CV_32SC1, cv::Scalar(0));
  labels(cv::Rect(1, 1, 4, 4)).setTo(1);   // 4 x 4: a 2 x 2 plateau
  labels(cv::Rect(6, 2, 7, 3)).setTo(2);   // 7 x 3: a ridge along its middle row
  labels(cv::Rect(2, 6, 6, 5)).setTo(3);   // 6 x 5
  const cv::Mat f = flow_targets(labels);
  // The 4 x 4 nucleus' corner pixels point along the diagonal to its middle (3, 3) - (1.5 px).
  EXPECT_FLOAT_EQ(f.at<cv::Vec2f>(1, 1)[0], std::sqrt(0.5f));
  EXPECT_FLOAT_EQ(f.at<cv::Vec2f>(4, 4)[1], -std::sqrt(0.5f));
  // Left-right flip: x mirrored, dx negated. Up-down: y mirrored, dy negated.
  cv::Mat lr, ud;
  cv::flip(labels, lr, 1);
  cv::flip(labels, ud, 0);
  const cv::Mat flr = flow_targets(lr), fud = flow_targets(ud);
  // Transpose (a quarter turn combined with a flip): dy and dx swap.
  const cv::Mat ft = flow_targets(cv::Mat(labels.t()));
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const cv::Vec2f v = f.at<cv::Vec2f>(y, x);
      const cv::Vec2f a = flr.at<cv::Vec2f>(y, labels.cols - 1 - x), b = fud.at<cv::Vec2f>(labels.rows - 1 - y, x);
      const cv::Vec2f c = ft.at<cv::Vec2f>(x, y);
      EXPECT_NEAR(a[0], v[0], 1e-6) << y << "," << x;
      EXPECT_NEAR(a[1], -v[1], 1e-6) << y << "," << x;
      EXPECT_NEAR(b[0], -v[0], 1e-6) << y << "," << x;
      EXPECT_NEAR(b[1], v[1], 1e-6) << y << "," << x;
      EXPECT_NEAR(c[0], v[1], 1e-6) << y << "," << x;
      EXPECT_NEAR(c[1], v[0], 1e-6) << y << "," << x;
    }
}
