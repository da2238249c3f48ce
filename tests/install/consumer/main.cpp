// Uses the installed headers and nucseg::segment: two squares in a class map (border ring, interior) become
// two instances, which score 1 against themselves; the parameters come from a [segment] key.
#include <cstdio>

#include "nucseg/core/config.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/kaggle_score.hpp"

int main() {
  const auto config = nucseg::load_config({}, {"segment.min_area=5", "segment.seeds=interior"});
  const auto params = nucseg::segment::params_from_config(config.segment);
  cv::Mat classes(40, 60, CV_8UC1, cv::Scalar(0));
  classes(cv::Rect(5, 5, 20, 20)).setTo(2);
  classes(cv::Rect(7, 7, 16, 16)).setTo(1);
  classes(cv::Rect(30, 5, 20, 20)).setTo(2);
  classes(cv::Rect(32, 7, 16, 16)).setTo(1);
  const cv::Mat labels = nucseg::segment::instances_from_classes(classes, params);
  double objects = 0;
  cv::minMaxLoc(labels, nullptr, &objects);
  const auto score = nucseg::segment::score_image(labels, labels);
  std::printf("nucseg consumer: %d objects, self score %.3f, min_area %d\n", static_cast<int>(objects), score.score,
              params.min_area);
  return objects == 2 && score.score == 1.0 && params.min_area == 5 ? 0 : 1;
}
