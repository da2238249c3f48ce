// Convex-hull pixel count of one object from its per-row extents (private to the segment
// module: measure.cpp's solidity and label_ops.cpp's filter on it).
#pragma once

#include <cstdint>
#include <vector>

namespace nucseg::segment {

struct RowSpan {
  int row, min_c, max_c;  // leftmost and rightmost pixel of the object on this row
};

// Pixels whose centres lie in (or on) the convex hull of the edge midpoints of the object's
// pixels, as skimage's convex_hull_image(offset_coordinates=True). Spans sorted by row. The
// hull of a row's extreme pixels' midpoints contains every pixel between them, so the per-row
// extents are exact inputs; cost O(rows log rows).
int64_t convex_hull_pixel_count(const std::vector<RowSpan>& spans);

// Adds pixel (r, c) to an object's spans; pixels must come in raster order (rows ascending,
// columns ascending within a row), which keeps the spans sorted by row.
inline void extend_spans(std::vector<RowSpan>& spans, int r, int c) {
  if (spans.empty() || spans.back().row != r) spans.push_back({r, c, c});
  else spans.back().max_c = c;
}

}  // namespace nucseg::segment
