#include "nucseg/segment/label_ops.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "hull.hpp"
#include "nucseg/core/error.hpp"

namespace nucseg::segment {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw_runtime(std::string("segment: ") + what);
}

void require_labels(const cv::Mat& labels, const char* fn) {
  if (labels.type() != CV_32SC1)
    throw_runtime(std::string(fn) + ": labels must be CV_32SC1 (got type " + std::to_string(labels.type()) + ")");
  require(labels.isContinuous(), "label image must be continuous");
}

}  // namespace

int max_label(const cv::Mat& labels) {
  require_labels(labels, "max_label");
  if (labels.empty()) return 0;
  double lo = 0, hi = 0;
  cv::minMaxLoc(labels, &lo, &hi);
  if (lo < 0) throw_runtime("max_label: negative label " + std::to_string(static_cast<long>(lo)));
  return static_cast<int>(hi);
}

void flood_markers(const cv::Mat& elevation, const cv::Mat& mask, cv::Mat& markers, int levels) {
  require_labels(markers, "flood_markers");
  require(elevation.type() == CV_32FC1 && elevation.size() == markers.size() && elevation.isContinuous(),
          "flood_markers: elevation must be a continuous CV_32FC1 image of the markers' size");
  require(mask.type() == CV_8UC1 && mask.size() == markers.size() && mask.isContinuous(),
          "flood_markers: mask must be a continuous CV_8UC1 image of the markers' size");
  require(levels >= 2 && levels <= 65536, "flood_markers: levels must lie in [2, 65536]");
  const int rows = markers.rows, cols = markers.cols;
  const size_t n = markers.total();
  if (n == 0) return;
  const float* el = elevation.ptr<float>();
  const uint8_t* mk = mask.ptr<uint8_t>();
  int32_t* lab = markers.ptr<int32_t>();

  float lo = 0, hi = 0;
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    if (!mk[i] && lab[i] <= 0) continue;
    const float v = el[i];
    if (!any) { lo = hi = v; any = true; }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!any) return;
  const float scale = hi > lo ? static_cast<float>(levels - 1) / (hi - lo) : 0.0f;
  auto level_of = [&](size_t i) {
    const int q = static_cast<int>((el[i] - lo) * scale + 0.5f);
    return std::clamp(q, 0, levels - 1);
  };

  std::vector<std::vector<int32_t>> bucket(static_cast<size_t>(levels));
  for (size_t i = 0; i < n; ++i)
    if (lab[i] > 0) bucket[static_cast<size_t>(level_of(i))].push_back(static_cast<int32_t>(i));

  // Pixels are labelled when pushed, so each enters the queue once: O(pixels + levels).
  for (int level = 0; level < levels; ++level) {
    auto& q = bucket[static_cast<size_t>(level)];
    for (size_t k = 0; k < q.size(); ++k) {
      const int32_t p = q[k];
      const int r = p / cols, c = p - r * cols;
      const int32_t l = lab[p];
      auto visit = [&](int32_t nb) {
        if (lab[nb] != 0 || !mk[nb]) return;
        lab[nb] = l;
        bucket[static_cast<size_t>(std::max(level, level_of(static_cast<size_t>(nb))))].push_back(nb);
      };
      if (c > 0) visit(p - 1);
      if (c + 1 < cols) visit(p + 1);
      if (r > 0) visit(p - cols);
      if (r + 1 < rows) visit(p + cols);
    }
    std::vector<int32_t>().swap(q);  // release as we go: peak memory stays near one image
  }
}

void label_unassigned(const cv::Mat& mask, cv::Mat& labels) {
  require_labels(labels, "label_unassigned");
  require(mask.type() == CV_8UC1 && mask.size() == labels.size(),
          "label_unassigned: mask must be CV_8UC1 of the labels' size");
  cv::Mat rest = (mask != 0) & (labels == 0);
  if (cv::countNonZero(rest) == 0) return;
  cv::Mat cc;
  const int count = cv::connectedComponents(rest, cc, 8, CV_32S);
  const int offset = max_label(labels);
  for (int r = 0; r < labels.rows; ++r) {
    const int32_t* src = cc.ptr<int32_t>(r);
    int32_t* dst = labels.ptr<int32_t>(r);
    for (int c = 0; c < labels.cols; ++c)
      if (src[c] > 0) dst[c] = src[c] + offset;
  }
  (void)count;
}

void remove_small_objects(cv::Mat& labels, int min_area) {
  require_labels(labels, "remove_small_objects");
  if (min_area <= 1) return;
  const int top = max_label(labels);
  std::vector<int64_t> area(static_cast<size_t>(top) + 1, 0);
  int32_t* lab = labels.ptr<int32_t>();
  const size_t n = labels.total();
  for (size_t i = 0; i < n; ++i) ++area[static_cast<size_t>(lab[i])];
  for (size_t i = 0; i < n; ++i)
    if (lab[i] > 0 && area[static_cast<size_t>(lab[i])] < min_area) lab[i] = 0;
}

void remove_ragged_objects(cv::Mat& labels, double min_solidity) {
  require_labels(labels, "remove_ragged_objects");
  if (min_solidity <= 0.0 || labels.empty()) return;
  const int top = max_label(labels);
  std::vector<int64_t> area(static_cast<size_t>(top) + 1, 0);
  // Each label's extent per row, as measure.cpp collects them for the objects table.
  std::vector<std::vector<RowSpan>> spans(static_cast<size_t>(top) + 1);
  for (int r = 0; r < labels.rows; ++r) {
    const int32_t* lab = labels.ptr<int32_t>(r);
    for (int c = 0; c < labels.cols; ++c) {
      const auto l = static_cast<size_t>(lab[c]);
      if (l == 0) continue;
      ++area[l];
      extend_spans(spans[l], r, c);
    }
  }
  std::vector<uint8_t> drop(static_cast<size_t>(top) + 1, 0);
  for (size_t l = 1; l < spans.size(); ++l) {
    if (area[l] == 0) continue;
    // The objects table's expression (measure.cpp), so an object listed there with solidity s
    // is kept at min_solidity <= s and removed above it.
    const double solidity = static_cast<double>(area[l]) / static_cast<double>(convex_hull_pixel_count(spans[l]));
    drop[l] = solidity < min_solidity;
    std::vector<RowSpan>().swap(spans[l]);
  }
  int32_t* lab = labels.ptr<int32_t>();
  const size_t n = labels.total();
  for (size_t i = 0; i < n; ++i)
    if (lab[i] > 0 && drop[static_cast<size_t>(lab[i])]) lab[i] = 0;
}

int remove_unsure_objects(cv::Mat& labels, const cv::Mat& confidence, double min_mean) {
  require_labels(labels, "remove_unsure_objects");
  if (min_mean <= 0.0 || labels.empty()) return 0;
  if (confidence.type() != CV_8UC1 || confidence.size() != labels.size())
    throw_runtime("remove_unsure_objects: confidence must be CV_8UC1 of the labels' size");
  const int top = max_label(labels);
  std::vector<int64_t> area(static_cast<size_t>(top) + 1, 0), sum(static_cast<size_t>(top) + 1, 0);
  for (int r = 0; r < labels.rows; ++r) {
    const int32_t* lab = labels.ptr<int32_t>(r);
    const uint8_t* conf = confidence.ptr<uint8_t>(r);
    for (int c = 0; c < labels.cols; ++c) {
      const auto l = static_cast<size_t>(lab[c]);
      ++area[l];
      sum[l] += conf[c];
    }
  }
  // Integer comparison: sum / area < min_mean * 255.
  const double bar = min_mean * 255.0;
  std::vector<uint8_t> drop(static_cast<size_t>(top) + 1, 0);
  int dropped = 0;
  for (size_t l = 1; l < area.size(); ++l) {
    drop[l] = area[l] > 0 && static_cast<double>(sum[l]) < bar * static_cast<double>(area[l]);
    dropped += drop[l];
  }
  if (dropped == 0) return 0;
  for (int r = 0; r < labels.rows; ++r) {
    int32_t* lab = labels.ptr<int32_t>(r);
    for (int c = 0; c < labels.cols; ++c)
      if (lab[c] > 0 && drop[static_cast<size_t>(lab[c])]) lab[c] = 0;
  }
  return dropped;
}

void fill_holes(cv::Mat& labels) {
  require_labels(labels, "fill_holes");
  if (labels.empty()) return;
  cv::Mat bg = labels == 0;
  cv::Mat cc;
  const int count = cv::connectedComponents(bg, cc, 4, CV_32S);
  if (count <= 1) return;
  // Per background region: the single object around it (0 none yet, -1 several or the edge).
  std::vector<int32_t> owner(static_cast<size_t>(count), 0);
  const int rows = labels.rows, cols = labels.cols;
  const int32_t* lab = labels.ptr<int32_t>();
  const int32_t* reg = cc.ptr<int32_t>();
  auto note = [&](int32_t region, int32_t l) {
    int32_t& o = owner[static_cast<size_t>(region)];
    if (o == 0) o = l;
    else if (o != l) o = -1;
  };
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const int p = r * cols + c;
      const int32_t region = reg[p];
      if (region == 0) continue;
      if (r == 0 || c == 0 || r + 1 == rows || c + 1 == cols) { owner[static_cast<size_t>(region)] = -1; continue; }
      for (const int nb : {p - 1, p + 1, p - cols, p + cols})
        if (lab[nb] > 0) note(region, lab[nb]);
    }
  }
  int32_t* out = labels.ptr<int32_t>();
  const size_t n = labels.total();
  for (size_t i = 0; i < n; ++i) {
    const int32_t region = reg[i];
    if (region > 0 && owner[static_cast<size_t>(region)] > 0) out[i] = owner[static_cast<size_t>(region)];
  }
}

int relabel_sequential(cv::Mat& labels) {
  require_labels(labels, "relabel_sequential");
  const int top = max_label(labels);
  std::vector<int32_t> map(static_cast<size_t>(top) + 1, 0);
  int32_t next = 0;
  int32_t* lab = labels.ptr<int32_t>();
  const size_t n = labels.total();
  for (size_t i = 0; i < n; ++i) {
    const int32_t l = lab[i];
    if (l == 0) continue;
    int32_t& m = map[static_cast<size_t>(l)];
    if (m == 0) m = ++next;
    lab[i] = m;
  }
  return next;
}

}  // namespace nucseg::segment
