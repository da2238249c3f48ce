// Training targets derived from instance labels: the seed's 3-class map, the distance head's map
// and the flow head's vectors.
#pragma once

#include <opencv2/core.hpp>

#include "nucseg/segment/label_flows.hpp"

namespace nucseg::data {

enum TargetClass : uint8_t { kBackground = 0, kInterior = 1, kBorder = 2 };

// labels: CV_32SC1 (0 background, 1..N nuclei). Returns CV_8UC1 with 0 background,
// 1 interior, 2 border. A nucleus pixel is border when a pixel of another label (background
// or another nucleus) lies within Chebyshev distance `border_width` of it, i.e. in its
// (2w+1)x(2w+1) window: 8-connectivity, so nuclei touching only diagonally are separated too.
// Outside the image counts as nothing: a nucleus cut by the image edge has no border there,
// since the image edge is not an object boundary. border_width >= 1, Error(runtime) otherwise.
cv::Mat class_targets(const cv::Mat& labels, int border_width);

// The distance and flow heads' targets are what the labels imply pixel by pixel, which
// inference compares its flows with too: segment/label_flows.hpp defines them.
using segment::distance_targets;
using segment::flow_targets;

}  // namespace nucseg::data
