// Training targets derived from instance labels: the seed's 3-class map, the distance head's map
// and the flow head's vectors.
#pragma once

#include <opencv2/core.hpp>

namespace nucseg::data {

enum TargetClass : uint8_t { kBackground = 0, kInterior = 1, kBorder = 2 };

// labels: CV_32SC1 (0 background, 1..N nuclei). Returns CV_8UC1 with 0 background,
// 1 interior, 2 border. A nucleus pixel is border when a pixel of another label (background
// or another nucleus) lies within Chebyshev distance `border_width` of it, i.e. in its
// (2w+1)x(2w+1) window: 8-connectivity, so nuclei touching only diagonally are separated too.
// Outside the image counts as nothing: a nucleus cut by the image edge has no border there,
// since the image edge is not an object boundary. border_width >= 1, Error(runtime) otherwise.
cv::Mat class_targets(const cv::Mat& labels, int border_width);

// The distance head's target (model.distance_head): CV_32FC1, 0 on the background; on a
// nucleus (d + 1) / (D + 1), with d a pixel's Euclidean distance to the nearest pixel of its
// nucleus that touches another label or the background (4-neighbours), D the nucleus' largest d.
// So each nucleus peaks at 1 in its centre whatever its size, falls to 1 / (D + 1) at its
// outline, and touching nuclei meet in a valley. As class_targets, the image edge is not a
// boundary. labels: CV_32SC1 (0 background, ids >= 1; large ids cost a vector of that length).
cv::Mat distance_targets(const cv::Mat& labels);

// The flow head's target (model.flow_head): CV_32FC2, per pixel the unit vector (dy, dx) from
// the pixel towards its nucleus' centre, (0, 0) on the background and on a pixel the centre
// falls on exactly. A nucleus' centre is the centroid of its pixels farthest from its own
// boundary (distance_targets' d; several on a plateau or a ridge, so the centre turns with
// flipped and turned crops); where that centroid is not a pixel of the nucleus (two equal
// lobes, a bent ridge, a thin arc), the nearest of those pixels instead. So it lies inside the
// nucleus, and each of two touching nuclei keeps its own: their vectors point apart across
// the line where they meet, whether or not the image shows that line (Cellpose's flows, with
// straight paths instead of diffusion).
cv::Mat flow_targets(const cv::Mat& labels);

}  // namespace nucseg::data
