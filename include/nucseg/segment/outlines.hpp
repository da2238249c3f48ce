// Outlines of the objects of a label image as polygons along pixel edges (the "crack" boundary):
// vertex (x, y) is the top-left corner of pixel (column x, row y), so a pixel lies inside an
// outline exactly when the pixel's centre does. ImageJ reads integer polygon vertices the same
// way (its wand traces such outlines), so an outline used as an ImageJ ROI selects the object's
// pixels, with the object's area.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::segment {

struct Outline {
  int32_t label = 0;
  std::vector<cv::Point> vertices;  // corners only (no collinear points), clockwise on screen
};

// One outline per label of `labels` (CV_32SC1, 0 background), in label order: the outer
// boundary of the 8-connected part that holds the label's first pixel in raster order. Holes
// (background 4-connected regions it encloses) are inside the outline; other parts of a label
// split in two are not (nucseg's instances are connected). Linear in pixels plus perimeters.
std::vector<Outline> trace_outlines(const cv::Mat& labels);

}  // namespace nucseg::segment
