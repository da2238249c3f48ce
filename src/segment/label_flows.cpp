#include "nucseg/segment/label_flows.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::segment {

cv::Mat label_edges(const cv::Mat& labels, bool four) {
  if (labels.type() != CV_32SC1) throw_runtime("label_edges: labels must be CV_32SC1");
  const int rows = labels.rows, cols = labels.cols;
  cv::Mat edge(rows, cols, CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < rows; ++y) {
    const int32_t* up = labels.ptr<int32_t>(std::max(y - 1, 0));
    const int32_t* mid = labels.ptr<int32_t>(y);
    const int32_t* down = labels.ptr<int32_t>(std::min(y + 1, rows - 1));
    uint8_t* out = edge.ptr<uint8_t>(y);
    for (int x = 0; x < cols; ++x) {
      const int32_t v = mid[x];
      const int xl = std::max(x - 1, 0), xr = std::min(x + 1, cols - 1);
      bool differs = up[x] != v || mid[xl] != v || mid[xr] != v || down[x] != v;
      if (!four) differs = differs || up[xl] != v || up[xr] != v || down[xl] != v || down[xr] != v;
      out[x] = differs ? 255 : 0;
    }
  }
  return edge;
}

namespace {

// Each pixel's Euclidean distance to the nearest pixel of its nucleus that touches another
// label or the background (4-neighbours; the image edge is not a boundary); per label id, the
// nucleus' largest such distance.
cv::Mat inside_distance(const cv::Mat& labels, std::vector<float>& peak) {
  cv::Mat inside = (labels > 0) & ~label_edges(labels, /*four=*/true);
  cv::Mat dist;
  cv::distanceTransform(inside, dist, cv::DIST_L2, cv::DIST_MASK_5, CV_32F);
  peak.clear();
  for (int y = 0; y < labels.rows; ++y) {
    const int32_t* l = labels.ptr<int32_t>(y);
    const float* d = dist.ptr<float>(y);
    for (int x = 0; x < labels.cols; ++x) {
      if (l[x] <= 0) continue;
      const size_t id = static_cast<size_t>(l[x]);
      if (id >= peak.size()) peak.resize(id + 1, -1.0f);
      peak[id] = std::max(peak[id], d[x]);
    }
  }
  return dist;
}

// Per label id, the centroid (x, y) of the nucleus' pixels at its largest inside distance. The
// distance's 5x5 mask is symmetric under flips and quarter turns, so this plateau, and with it
// the centre, turns with the image: an augmented crop teaches the same directions as the
// original (a single pixel of the plateau, e.g. the first in raster order, would not). A
// centroid that misses the nucleus (its nearest pixel has another label) is replaced by the
// plateau pixel nearest to it, so every vector points into the nucleus' own body.
std::vector<cv::Point2f> plateau_centres(const cv::Mat& labels, const cv::Mat& dist, const std::vector<float>& peak) {
  std::vector<cv::Point2d> sum(peak.size(), cv::Point2d(0, 0));
  std::vector<double> count(peak.size(), 0.0);
  auto for_plateau = [&](auto&& visit) {
    for (int y = 0; y < labels.rows; ++y) {
      const int32_t* l = labels.ptr<int32_t>(y);
      const float* d = dist.ptr<float>(y);
      for (int x = 0; x < labels.cols; ++x)
        if (l[x] > 0 && d[x] >= peak[static_cast<size_t>(l[x])]) visit(static_cast<size_t>(l[x]), x, y);
    }
  };
  for_plateau([&](size_t id, int x, int y) {
    sum[id] += cv::Point2d(x, y);
    count[id] += 1.0;
  });
  std::vector<cv::Point2f> centre(peak.size(), cv::Point2f(-1.0f, -1.0f));
  std::vector<size_t> missed;
  for (size_t id = 0; id < peak.size(); ++id) {
    if (count[id] <= 0) continue;
    centre[id] = cv::Point2f(static_cast<float>(sum[id].x / count[id]), static_cast<float>(sum[id].y / count[id]));
    const int cx = static_cast<int>(std::lround(centre[id].x)), cy = static_cast<int>(std::lround(centre[id].y));
    if (labels.at<int32_t>(cy, cx) != static_cast<int32_t>(id)) missed.push_back(id);
  }
  if (missed.empty()) return centre;
  std::vector<float> best(peak.size(), std::numeric_limits<float>::max());
  std::vector<cv::Point2f> nearest(peak.size());
  std::vector<char> is_missed(peak.size(), 0);
  for (size_t id : missed) is_missed[id] = 1;
  for_plateau([&](size_t id, int x, int y) {
    if (!is_missed[id]) return;
    const float dx = static_cast<float>(x) - centre[id].x, dy = static_cast<float>(y) - centre[id].y;
    if (dx * dx + dy * dy < best[id]) {
      best[id] = dx * dx + dy * dy;
      nearest[id] = cv::Point2f(static_cast<float>(x), static_cast<float>(y));
    }
  });
  for (size_t id : missed) centre[id] = nearest[id];
  return centre;
}

}  // namespace

cv::Mat distance_targets(const cv::Mat& labels) {
  if (labels.type() != CV_32SC1) throw_runtime("distance_targets: labels must be CV_32SC1");
  std::vector<float> peak;
  const cv::Mat dist = inside_distance(labels, peak);
  // Each nucleus' pixels: (d + 1) / (its largest d + 1), so its outline is 1 / (max + 1) > 0
  // and its centre 1; the background stays 0.
  cv::Mat out(labels.rows, labels.cols, CV_32FC1, cv::Scalar(0));
  for (int y = 0; y < labels.rows; ++y) {
    const int32_t* l = labels.ptr<int32_t>(y);
    const float* d = dist.ptr<float>(y);
    float* o = out.ptr<float>(y);
    for (int x = 0; x < labels.cols; ++x)
      if (l[x] > 0) o[x] = (d[x] + 1.0f) / (peak[static_cast<size_t>(l[x])] + 1.0f);
  }
  return out;
}

cv::Mat flow_targets(const cv::Mat& labels) {
  if (labels.type() != CV_32SC1) throw_runtime("flow_targets: labels must be CV_32SC1");
  std::vector<float> peak;
  const cv::Mat dist = inside_distance(labels, peak);
  const std::vector<cv::Point2f> centre = plateau_centres(labels, dist, peak);
  cv::Mat out(labels.rows, labels.cols, CV_32FC2, cv::Scalar(0, 0));
  for (int y = 0; y < labels.rows; ++y) {
    const int32_t* l = labels.ptr<int32_t>(y);
    auto* o = out.ptr<cv::Vec2f>(y);
    for (int x = 0; x < labels.cols; ++x) {
      if (l[x] <= 0) continue;
      const cv::Point2f c = centre[static_cast<size_t>(l[x])];
      const float dy = c.y - static_cast<float>(y), dx = c.x - static_cast<float>(x);
      const float norm = std::sqrt(dy * dy + dx * dx);
      if (norm > 0.0f) o[x] = cv::Vec2f(dy / norm, dx / norm);
    }
  }
  return out;
}

double flow_error(const cv::Mat& labels, const cv::Mat& flow_y, const cv::Mat& flow_x) {
  if (labels.type() != CV_32SC1 || flow_y.type() != CV_8UC1 || flow_x.type() != CV_8UC1 ||
      flow_y.size() != labels.size() || flow_x.size() != labels.size())
    throw_runtime("flow_error: labels must be CV_32SC1 and the flow two CV_8UC1 planes of their size");
  const cv::Mat target = flow_targets(labels);
  double sum = 0.0;
  long pixels = 0;
  constexpr float kStep = 2.0f / 255.0f;  // the 8-bit planes hold (1 + d) / 2 x 255
  for (int y = 0; y < labels.rows; ++y) {
    const int32_t* l = labels.ptr<int32_t>(y);
    const uint8_t* fy = flow_y.ptr<uint8_t>(y);
    const uint8_t* fx = flow_x.ptr<uint8_t>(y);
    const auto* t = target.ptr<cv::Vec2f>(y);
    for (int x = 0; x < labels.cols; ++x) {
      if (l[x] <= 0) continue;
      const float dy = static_cast<float>(fy[x]) * kStep - 1.0f - t[x][0];
      const float dx = static_cast<float>(fx[x]) * kStep - 1.0f - t[x][1];
      sum += static_cast<double>(dy * dy + dx * dx);
      ++pixels;
    }
  }
  return pixels > 0 ? sum / static_cast<double>(pixels) : -1.0;
}

}  // namespace nucseg::segment
