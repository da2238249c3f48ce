#include "nucseg/segment/measure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>

#include "nucseg/core/error.hpp"
#include "hull.hpp"

namespace nucseg::segment {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Acc {
  int64_t n = 0;
  int r0 = 0, c0 = 0;  // first pixel: moments are summed relative to it to keep precision
  double sr = 0, sc = 0, srr = 0, scc = 0, src = 0;
  int min_r = 0, min_c = 0, max_r = 0, max_c = 0;
  double i_sum = 0, i_min = 0, i_max = 0;
  double perimeter = 0;
};

// skimage.measure.perimeter(neighbourhood=4): border pixels coded 1 + 2*(4-neighbours on the
// border) + 10*(diagonal neighbours on the border), each code weighted.
double perimeter_weight(int code) {
  switch (code) {
    case 5: case 7: case 15: case 17: case 25: case 27: return 1.0;
    case 21: case 33: return std::sqrt(2.0);
    case 13: case 23: return (1.0 + std::sqrt(2.0)) / 2.0;
    default: return 0.0;
  }
}

// Mean of the channels of one row as float.
void intensity_row(const cv::Mat& img, int r, std::vector<float>& out) {
  const int ch = img.channels(), cols = img.cols;
  auto fill = [&](const auto* p) {
    for (int c = 0; c < cols; ++c) {
      float s = 0;
      for (int k = 0; k < ch; ++k) s += static_cast<float>(p[c * ch + k]);
      out[static_cast<size_t>(c)] = ch == 1 ? s : s / static_cast<float>(ch);
    }
  };
  switch (img.depth()) {
    case CV_8U: fill(img.ptr<uint8_t>(r)); break;
    case CV_16U: fill(img.ptr<uint16_t>(r)); break;
    default: fill(img.ptr<float>(r)); break;
  }
}

cv::Mat prepare_labels(const cv::Mat& labels) {
  if (labels.channels() != 1 || (labels.depth() != CV_32S && labels.depth() != CV_16U))
    throw_runtime("measure_objects: labels must be CV_32SC1 or CV_16UC1 (type " + std::to_string(labels.type()) + ")");
  cv::Mat out;
  if (labels.depth() == CV_32S) out = labels;
  else labels.convertTo(out, CV_32S);
  double lo = 0, hi = 0;
  cv::minMaxLoc(out, &lo, &hi);
  if (lo < 0) throw_runtime("measure_objects: negative label " + std::to_string(static_cast<long>(lo)));
  return out;
}

void check_intensity(const std::string& image_id, const cv::Mat& intensity, const cv::Mat& labels) {
  if (intensity.size() != labels.size())
    throw_runtime("measure_objects: intensity image size differs from the labels' for image '" + image_id + "'");
  const int d = intensity.depth();
  if ((d != CV_8U && d != CV_16U && d != CV_32F) || intensity.channels() > 4)
    throw_runtime("measure_objects: intensity must be CV_8U/CV_16U/CV_32F with 1..4 channels");
}

// Sparse label values (far above the pixel count) are packed to dense indices so per-label
// arrays stay small; the table gets the original values back.
ObjectTable measure_sparse(const std::string& image_id, const cv::Mat& labels, const cv::Mat& intensity) {
  const int rows = labels.rows, cols = labels.cols;
  std::unordered_map<int32_t, int32_t> pack;
  cv::Mat dense(labels.size(), CV_32SC1);
  std::vector<int32_t> original;
  for (int r = 0; r < rows; ++r) {
    const int32_t* s = labels.ptr<int32_t>(r);
    int32_t* d = dense.ptr<int32_t>(r);
    for (int c = 0; c < cols; ++c) {
      if (s[c] == 0) { d[c] = 0; continue; }
      auto [it, fresh] = pack.try_emplace(s[c], static_cast<int32_t>(original.size() + 1));
      if (fresh) original.push_back(s[c]);
      d[c] = it->second;
    }
  }
  // Keep increasing label order: renumber by rank of the original value.
  std::vector<int32_t> order(original.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return original[static_cast<size_t>(a)] < original[static_cast<size_t>(b)]; });
  std::vector<int32_t> rank(original.size() + 1, 0);
  for (size_t k = 0; k < order.size(); ++k) rank[static_cast<size_t>(order[k]) + 1] = static_cast<int32_t>(k + 1);
  dense.forEach<int32_t>([&](int32_t& v, const int*) { v = rank[static_cast<size_t>(v)]; });
  ObjectTable t = measure_objects(image_id, dense, intensity);
  std::sort(original.begin(), original.end());
  for (auto& l : t.label) l = original[static_cast<size_t>(l) - 1];
  return t;
}

// One pass over the pixels: the moments, box, intensity and perimeter of every label (acc)
// and its row spans (for the convex hull). acc and spans hold one entry per label value.
void accumulate(const cv::Mat& labels, const cv::Mat& intensity, std::vector<Acc>& acc,
                std::vector<std::vector<RowSpan>>& spans) {
  const int rows = labels.rows, cols = labels.cols;
  const bool has_intensity = !intensity.empty();
  std::vector<float> irow(static_cast<size_t>(cols), 0.0f);
  // Rolling border flags of rows r-1, r, r+1 (a pixel is on the border when a 4-neighbour,
  // or the outside of the image, carries another label).
  std::vector<uint8_t> b_prev(static_cast<size_t>(cols), 0), b_cur(static_cast<size_t>(cols), 0),
      b_next(static_cast<size_t>(cols), 0);
  auto border_row = [&](int r, std::vector<uint8_t>& out) {
    const int32_t* L = labels.ptr<int32_t>(r);
    const int32_t* U = r > 0 ? labels.ptr<int32_t>(r - 1) : nullptr;
    const int32_t* D = r + 1 < rows ? labels.ptr<int32_t>(r + 1) : nullptr;
    for (int c = 0; c < cols; ++c) {
      const int32_t l = L[c];
      out[static_cast<size_t>(c)] = l != 0 && (c == 0 || c + 1 == cols || !U || !D || L[c - 1] != l ||
                                               L[c + 1] != l || U[c] != l || D[c] != l);
    }
  };
  border_row(0, b_cur);

  for (int r = 0; r < rows; ++r) {
    if (r + 1 < rows) border_row(r + 1, b_next);
    if (has_intensity) intensity_row(intensity, r, irow);
    const int32_t* L = labels.ptr<int32_t>(r);
    const int32_t* U = r > 0 ? labels.ptr<int32_t>(r - 1) : nullptr;
    const int32_t* D = r + 1 < rows ? labels.ptr<int32_t>(r + 1) : nullptr;
    for (int c = 0; c < cols; ++c) {
      const int32_t l = L[c];
      if (l == 0) continue;
      Acc& a = acc[static_cast<size_t>(l)];
      const double v = irow[static_cast<size_t>(c)];
      if (a.n == 0) {
        a.r0 = r; a.c0 = c;
        a.min_r = a.max_r = r; a.min_c = a.max_c = c;
        a.i_min = a.i_max = v;
      }
      ++a.n;
      const double dr = r - a.r0, dc = c - a.c0;
      a.sr += dr; a.sc += dc; a.srr += dr * dr; a.scc += dc * dc; a.src += dr * dc;
      a.max_r = r;
      a.min_c = std::min(a.min_c, c);
      a.max_c = std::max(a.max_c, c);
      a.i_sum += v;
      a.i_min = std::min(a.i_min, v);
      a.i_max = std::max(a.i_max, v);
      extend_spans(spans[static_cast<size_t>(l)], r, c);
      if (b_cur[static_cast<size_t>(c)]) {
        auto on = [&](const int32_t* row, const std::vector<uint8_t>& b, int cc) {
          return row && cc >= 0 && cc < cols && row[cc] == l && b[static_cast<size_t>(cc)];
        };
        const int code = 1 + 2 * (on(L, b_cur, c - 1) + on(L, b_cur, c + 1) + on(U, b_prev, c) + on(D, b_next, c)) +
                         10 * (on(U, b_prev, c - 1) + on(U, b_prev, c + 1) + on(D, b_next, c - 1) + on(D, b_next, c + 1));
        a.perimeter += perimeter_weight(code);
      }
    }
    std::swap(b_prev, b_cur);
    std::swap(b_cur, b_next);
  }
}

// Appends the row of label `l` (n > 0 pixels) to the table; frees its spans.
void append_object(ObjectTable& table, const std::string& image_id, size_t l, const Acc& a,
                   std::vector<RowSpan>& spans, bool has_intensity) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(a.n);
  const double mr = a.sr / n, mc = a.sc / n;
  // Inertia tensor as skimage: [[mu02, -mu11], [-mu11, mu20]] / mu00 (row, col order).
  const double ta = std::max(0.0, a.scc / n - mc * mc);
  const double tc = std::max(0.0, a.srr / n - mr * mr);
  const double tb = -(a.src / n - mr * mc);
  const double mid = (ta + tc) / 2, rad = std::sqrt((ta - tc) * (ta - tc) / 4 + tb * tb);
  const double l1 = std::max(0.0, mid + rad), l2 = std::max(0.0, mid - rad);
  double orientation;
  if (ta - tc == 0) orientation = tb < 0 ? -kPi / 4 : kPi / 4;
  else orientation = 0.5 * std::atan2(-2 * tb, tc - ta);
  table.image_id.push_back(image_id);
  table.label.push_back(static_cast<int32_t>(l));
  table.area.push_back(n);
  table.centroid_row.push_back(a.r0 + mr);
  table.centroid_col.push_back(a.c0 + mc);
  table.bbox_min_row.push_back(a.min_r);
  table.bbox_min_col.push_back(a.min_c);
  table.bbox_max_row.push_back(a.max_r + 1);
  table.bbox_max_col.push_back(a.max_c + 1);
  table.equivalent_diameter.push_back(std::sqrt(4 * n / kPi));
  table.major_axis_length.push_back(4 * std::sqrt(l1));
  table.minor_axis_length.push_back(4 * std::sqrt(l2));
  table.eccentricity.push_back(l1 == 0 ? 0.0 : std::sqrt(std::max(0.0, 1 - l2 / l1)));
  table.orientation.push_back(orientation);
  table.solidity.push_back(n / static_cast<double>(convex_hull_pixel_count(spans)));
  std::vector<RowSpan>().swap(spans);
  table.perimeter.push_back(a.perimeter);
  table.mean_intensity.push_back(has_intensity ? a.i_sum / n : nan);
  table.min_intensity.push_back(has_intensity ? a.i_min : nan);
  table.max_intensity.push_back(has_intensity ? a.i_max : nan);
}

}  // namespace

ObjectTable measure_objects(const std::string& image_id, const cv::Mat& labels_in, const cv::Mat& intensity) {
  ObjectTable table;
  if (labels_in.empty()) return table;
  cv::Mat labels = prepare_labels(labels_in);
  const bool has_intensity = !intensity.empty();
  if (has_intensity) check_intensity(image_id, intensity, labels);
  double hi = 0;
  cv::minMaxLoc(labels, nullptr, &hi);
  const auto top = static_cast<int64_t>(hi);
  if (top > 4 * static_cast<int64_t>(labels.total()) + 1024) return measure_sparse(image_id, labels, intensity);

  std::vector<Acc> acc(static_cast<size_t>(top) + 1);
  std::vector<std::vector<RowSpan>> spans(static_cast<size_t>(top) + 1);
  accumulate(labels, intensity, acc, spans);
  for (size_t l = 1; l < acc.size(); ++l)
    if (acc[l].n > 0) append_object(table, image_id, l, acc[l], spans[l], has_intensity);
  return table;
}

}  // namespace nucseg::segment
