#include "nucseg/segment/instances.hpp"

#include <string>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/label_ops.hpp"

namespace nucseg::segment {
namespace {

void check_params(const SegmentParams& params) {
  if (!(params.seed_threshold >= 0.0 && params.seed_threshold < 1.0))
    throw_runtime("segment: seed_threshold must lie in [0, 1), got " + std::to_string(params.seed_threshold));
  if (params.min_area < 0) throw_runtime("segment: min_area must be >= 0, got " + std::to_string(params.min_area));
}

// seeds: CV_8UC1 confident interior; fg: CV_8UC1 foreground; elevation: CV_32FC1.
cv::Mat grow_instances(const cv::Mat& seeds, const cv::Mat& fg, const cv::Mat& elevation, const SegmentParams& params) {
  cv::Mat markers;
  // 4-connected seeds: interiors that touch only diagonally stay apart.
  cv::connectedComponents(seeds, markers, 4, CV_32S);
  remove_small_objects(markers, seed_min_area(params));
  flood_markers(elevation, fg, markers);
  label_unassigned(fg, markers);
  remove_small_objects(markers, params.min_area);
  fill_holes(markers);
  relabel_sequential(markers);
  return markers;
}

}  // namespace

int seed_min_area(const SegmentParams& params) { return params.min_area >= 8 ? params.min_area / 4 : 1; }

cv::Mat instances_from_probabilities(const std::vector<cv::Mat>& class_probs, const SegmentParams& params) {
  check_params(params);
  if (class_probs.size() != 3)
    throw_runtime("instances_from_probabilities: expected 3 class probability maps, got " +
                  std::to_string(class_probs.size()));
  for (const auto& p : class_probs)
    if (p.type() != CV_32FC1 || p.size() != class_probs[0].size())
      throw_runtime("instances_from_probabilities: class maps must be CV_32FC1 of one size");
  if (class_probs[0].empty()) return cv::Mat(class_probs[0].size(), CV_32SC1);
  const cv::Mat fg = class_probs[0] < 0.5;
  const cv::Mat seeds = (class_probs[1] > params.seed_threshold) & fg;
  cv::Mat elevation = class_probs[2].isContinuous() ? class_probs[2] : class_probs[2].clone();
  return grow_instances(seeds, fg, elevation, params);
}

cv::Mat instances_from_classes(const cv::Mat& class_map, const SegmentParams& params) {
  check_params(params);
  if (class_map.type() != CV_8UC1) throw_runtime("instances_from_classes: class map must be CV_8UC1");
  if (class_map.empty()) return cv::Mat(class_map.size(), CV_32SC1);
  double hi = 0;
  cv::minMaxLoc(class_map, nullptr, &hi);
  if (hi > 2) throw_runtime("instances_from_classes: class values must be 0, 1 or 2, found " + std::to_string(static_cast<int>(hi)));
  const cv::Mat fg = class_map != 0;
  const cv::Mat seeds = class_map == 1;
  cv::Mat elevation;
  cv::Mat(class_map == 2).convertTo(elevation, CV_32F, 1.0 / 255.0);
  return grow_instances(seeds, fg, elevation, params);
}

}  // namespace nucseg::segment
