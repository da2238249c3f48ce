// Nucleus instances from the network's 3-class output (background / interior / border).
// Seeds are the connected components of confident interior; they grow into the foreground
// (background probability < 0.5) through a watershed on the border probability, so touching
// nuclei separated by a predicted border band become separate objects. Foreground that no
// seed reaches becomes an object of its own; objects under min_area are removed, holes are
// filled and labels renumbered 1..N in raster order.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::segment {

struct SegmentParams {
  double seed_threshold = 0.5;  // interior probability a seed pixel must exceed
  int min_area = 12;            // objects with fewer pixels are removed (infer.min_area)
};

// class_probs[0..2]: CV_32FC1 background / interior / border probabilities (summing to 1).
// Returns CV_32SC1 labels, 0 background, 1..N objects.
cv::Mat instances_from_probabilities(const std::vector<cv::Mat>& class_probs, const SegmentParams& params);

// The same algorithm on a hard class map (CV_8UC1: 0 background, 1 interior, 2 border).
cv::Mat instances_from_classes(const cv::Mat& class_map, const SegmentParams& params);

// Seed components smaller than this are dropped (they are usually noise inside one nucleus and
// would split it); their pixels are then reached by a neighbouring seed or labelled on their own.
int seed_min_area(const SegmentParams& params);

}  // namespace nucseg::segment
