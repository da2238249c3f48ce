#include "nucseg/segment/outlines.hpp"

#include <map>

#include "nucseg/core/error.hpp"

namespace nucseg::segment {
namespace {

// Directions of travel: 0 right (+x), 1 down (+y), 2 left, 3 up. The object stays on the
// right-hand side of the direction of travel (with y pointing down), so outlines run clockwise
// on screen.
constexpr int kDx[4] = {1, 0, -1, 0};
constexpr int kDy[4] = {0, 1, 0, -1};
// The two pixels ahead of corner (x, y) for each direction, as offsets of their column and
// row from (x, y): the one on the left-hand side and the one on the right-hand side.
constexpr int kLeftCol[4] = {0, 0, -1, -1}, kLeftRow[4] = {-1, 0, 0, -1};
constexpr int kRightCol[4] = {0, -1, -1, 0}, kRightRow[4] = {0, 0, -1, -1};

class Tracer final {
 public:
  explicit Tracer(const cv::Mat& labels) : labels_(labels) {}

  // Starting at the top-left corner of the label's first pixel in raster order: that corner
  // touches only that pixel of the object, so the walk passes it once and ends there.
  std::vector<cv::Point> trace(int32_t label, cv::Point start) const {
    std::vector<cv::Point> vertices{start};
    int x = start.x + 1, y = start.y, d = 0;
    while (x != start.x || y != start.y) {
      int next;
      if (inside(label, x + kLeftCol[d], y + kLeftRow[d])) next = (d + 3) % 4;  // 8-connected: diagonal neighbours join
      else if (inside(label, x + kRightCol[d], y + kRightRow[d])) next = d;
      else next = (d + 1) % 4;
      if (next != d) vertices.emplace_back(x, y);
      d = next;
      x += kDx[d];
      y += kDy[d];
    }
    return vertices;
  }

 private:
  bool inside(int32_t label, int col, int row) const {
    return col >= 0 && row >= 0 && col < labels_.cols && row < labels_.rows && labels_.at<int32_t>(row, col) == label;
  }
  const cv::Mat& labels_;
};

}  // namespace

std::vector<Outline> trace_outlines(const cv::Mat& labels) {
  if (labels.type() != CV_32SC1) throw_runtime("trace_outlines: labels must be CV_32SC1");
  std::map<int32_t, cv::Point> first;  // label -> first pixel in raster order
  for (int r = 0; r < labels.rows; ++r) {
    const int32_t* row = labels.ptr<int32_t>(r);
    for (int c = 0; c < labels.cols; ++c)
      if (row[c] > 0 && (c == 0 || row[c - 1] != row[c])) first.emplace(row[c], cv::Point(c, r));
  }
  Tracer tracer(labels);
  std::vector<Outline> out;
  out.reserve(first.size());
  for (const auto& [label, start] : first) out.push_back({label, tracer.trace(label, start)});
  return out;
}

}  // namespace nucseg::segment
