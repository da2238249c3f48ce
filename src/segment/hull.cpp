#include "hull.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nucseg::segment {
namespace {

// Coordinates doubled so edge midpoints (c +- 0.5, r +- 0.5) are integers: exact hull tests.
struct P {
  int64_t x, y;
  bool operator<(const P& o) const { return x < o.x || (x == o.x && y < o.y); }
  bool operator==(const P& o) const { return x == o.x && y == o.y; }
};

int64_t cross(const P& o, const P& a, const P& b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

// Andrew's monotone chain; collinear points dropped.
std::vector<P> hull_of(std::vector<P> pts) {
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  if (pts.size() < 3) return pts;
  std::vector<P> h(2 * pts.size());
  size_t k = 0;
  for (const P& p : pts) {
    while (k >= 2 && cross(h[k - 2], h[k - 1], p) <= 0) --k;
    h[k++] = p;
  }
  for (size_t i = pts.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(h[k - 2], h[k - 1], pts[i]) <= 0) --k;
    h[k++] = pts[i];
  }
  h.resize(k - 1);
  return h;
}

}  // namespace

int64_t convex_hull_pixel_count(const std::vector<RowSpan>& spans) {
  if (spans.empty()) return 0;
  std::vector<P> pts;
  pts.reserve(spans.size() * 6);
  for (const RowSpan& s : spans) {
    const int64_t y = 2 * int64_t{s.row};
    for (const int64_t x : {2 * int64_t{s.min_c}, 2 * int64_t{s.max_c}}) {
      pts.push_back({x, y - 1});
      pts.push_back({x, y + 1});
    }
    pts.push_back({2 * int64_t{s.min_c} - 1, y});
    pts.push_back({2 * int64_t{s.max_c} + 1, y});
  }
  const std::vector<P> h = hull_of(std::move(pts));
  const int r0 = spans.front().row, r1 = spans.back().row;
  const size_t nrows = static_cast<size_t>(r1 - r0 + 1);
  std::vector<double> lo(nrows, std::numeric_limits<double>::infinity());
  std::vector<double> hi(nrows, -std::numeric_limits<double>::infinity());
  auto update = [&](int r, double x) {
    if (r < r0 || r > r1) return;
    const size_t i = static_cast<size_t>(r - r0);
    lo[i] = std::min(lo[i], x);
    hi[i] = std::max(hi[i], x);
  };
  // Each edge meets the rows (even doubled y) it spans; a row's hull chord is [min x, max x].
  for (size_t i = 0; i < h.size(); ++i) {
    const P& a = h[i];
    const P& b = h[(i + 1) % h.size()];
    if (a.y == b.y) {
      if (a.y % 2 == 0) { update(static_cast<int>(a.y / 2), static_cast<double>(a.x)); update(static_cast<int>(a.y / 2), static_cast<double>(b.x)); }
      continue;
    }
    const int64_t ylo = std::min(a.y, b.y), yhi = std::max(a.y, b.y);
    const int64_t rfirst = (ylo + 1 + (ylo < 0 ? -1 : 0)) / 2;  // smallest r with 2r >= ylo
    for (int64_t r = std::max<int64_t>(rfirst, r0); 2 * r <= yhi; ++r) {
      if (2 * r < ylo) continue;
      const double x = static_cast<double>(a.x) +
                       static_cast<double>(b.x - a.x) * static_cast<double>(2 * r - a.y) / static_cast<double>(b.y - a.y);
      update(static_cast<int>(r), x);
    }
  }
  int64_t count = 0;
  for (size_t i = 0; i < nrows; ++i) {
    if (!(hi[i] >= lo[i])) continue;
    // Pixel c's centre is at doubled x = 2c; points on the hull boundary count (as skimage).
    const auto c_lo = static_cast<int64_t>(std::ceil(lo[i] / 2 - 1e-9));
    const auto c_hi = static_cast<int64_t>(std::floor(hi[i] / 2 + 1e-9));
    if (c_hi >= c_lo) count += c_hi - c_lo + 1;
  }
  return count;
}

}  // namespace nucseg::segment
