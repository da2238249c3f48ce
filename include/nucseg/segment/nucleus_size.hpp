// How large the nuclei of a label image are: the size that pack records for the training set
// and that infer.diameter = "auto" compares an input image with.
#pragma once

#include <opencv2/core.hpp>

namespace nucseg::segment {

// The median over the nuclei of `labels` (CV_32SC1, 0 background) of their equivalent
// diameter sqrt(4 area / pi), in pixels; 0 when there is no nucleus. The size measure
// Cellpose calls the diameter: a disk of radius 8 gives ~16. Even counts: the mean of the
// middle two.
double median_equivalent_diameter(const cv::Mat& labels);

// The diameter the foreground's shape implies, whatever its split into objects: 6 x the mean
// Euclidean distance to the background over the foreground pixels (a disk of diameter d has
// a mean distance of d / 6 to its outline). Touching objects count as one, so crowded scenes
// read larger (the demo's generated scenes: about 1.7x their median); 0 without foreground.
// Blind to how the foreground is cut into objects: a network shown nuclei far larger than it
// was trained on cuts each into fragments, whose median diameter is small, but the foreground
// keeps the nuclei's width.
double foreground_diameter(const cv::Mat& labels);

}  // namespace nucseg::segment
