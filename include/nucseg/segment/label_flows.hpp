// What instance labels imply pixel by pixel: where each label meets another, each pixel's
// distance to its nucleus' own boundary, and each pixel's direction to its nucleus' centre.
// Training derives the distance and flow heads' targets from the true labels (data/targets.hpp);
// inference compares the flow a network predicts with the flow its own labels imply
// (flow_error), which tells how well the labels fit what the network sees.
#pragma once

#include <opencv2/core.hpp>

namespace nucseg::segment {

// CV_8UC1, 255 where a pixel (of any label, background included) has a neighbour of a different
// label: its 8 neighbours, or with `four` only the 4 edge-sharing ones. Outside the image counts
// as nothing (the clamped rows and columns repeat the pixel itself), so the image edge is no edge.
// labels: CV_32SC1.
cv::Mat label_edges(const cv::Mat& labels, bool four);

// The distance head's target (model.distance_head): CV_32FC1, 0 on the background; on a
// nucleus (d + 1) / (D + 1), with d a pixel's Euclidean distance to the nearest pixel of its
// nucleus that touches another label or the background (4-neighbours), D the nucleus' largest d.
// So each nucleus peaks at 1 in its centre whatever its size, falls to 1 / (D + 1) at its
// outline, and touching nuclei meet in a valley. The image edge is not a boundary. labels:
// CV_32SC1 (0 background, ids >= 1; large ids cost a vector of that length).
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

// Cellpose's flow error of a whole image: the mean, over the labelled pixels, of the squared
// length of (predicted flow - flow_targets(labels)). flow_y, flow_x: a flow head's outputs as
// CV_8UC1 (1 + d) / 2 x 255, the size of labels. 0 when the labels are exactly what the flow
// says (up to the 8-bit steps); a label that holds two nuclei, or half of one, has pixels whose
// predicted direction points to another centre than the label's (up to 4 per pixel). -1 when
// there is no labelled pixel. Error(runtime) for other types or sizes.
double flow_error(const cv::Mat& labels, const cv::Mat& flow_y, const cv::Mat& flow_x);

}  // namespace nucseg::segment
