// Helpers shared by the synth tests: label statistics on CV_32SC1 label images.
#pragma once

#include <map>
#include <set>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace synth_test {

inline int max_label(const cv::Mat& labels) {
  double mx = 0;
  cv::minMaxLoc(labels, nullptr, &mx);
  return static_cast<int>(mx);
}

// Unordered pairs of different labels that are 4-adjacent somewhere.
inline std::set<std::pair<int, int>> touching_pairs(const cv::Mat& labels) {
  std::set<std::pair<int, int>> pairs;
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) {
      int a = labels.at<int>(y, x);
      if (a == 0) continue;
      int nb[2] = {x + 1 < labels.cols ? labels.at<int>(y, x + 1) : 0, y + 1 < labels.rows ? labels.at<int>(y + 1, x) : 0};
      for (int b : nb)
        if (b != 0 && b != a) pairs.insert({std::min(a, b), std::max(a, b)});
    }
  }
  return pairs;
}

// Number of 8-connected pieces of label k.
inline int pieces(const cv::Mat& labels, int k) {
  cv::Mat mask = labels == k, comp;
  return cv::connectedComponents(mask, comp, 8, CV_32S) - 1;
}

}  // namespace synth_test
