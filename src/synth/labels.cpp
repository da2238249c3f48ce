// Instance labels from the scene: every pixel inside nuclei (s < 1) goes to the one on top
// (highest z), and among equal z to the smallest normalised radius s, so nuclei pressed
// together split along a shared border and a nucleus lying on another hides part of it.
#include <algorithm>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "scene.hpp"

namespace nucseg::synth::detail {
namespace {

constexpr int kBand = 256;  // rows rasterised at once; bounds the scratch memory of big images

cv::Rect bounding_rect(const Nucleus& n, int width, int height) {
  int x0 = std::max(0, static_cast<int>(std::floor(n.cx - n.bound)));
  int y0 = std::max(0, static_cast<int>(std::floor(n.cy - n.bound)));
  int x1 = std::min(width, static_cast<int>(std::ceil(n.cx + n.bound)) + 1);
  int y1 = std::min(height, static_cast<int>(std::ceil(n.cy + n.bound)) + 1);
  if (x1 <= x0 || y1 <= y0) return {};
  return {x0, y0, x1 - x0, y1 - y0};
}

}  // namespace

cv::Mat rasterize_labels(const Scene& scene, std::vector<int>& owner) {
  const int w = scene.width, h = scene.height;
  cv::Mat labels(h, w, CV_32SC1, cv::Scalar(0));
  const int bands = (h + kBand - 1) / kBand;
  std::vector<std::vector<int>> by_band(static_cast<size_t>(bands));
  std::vector<cv::Rect> boxes(scene.nuclei.size());
  for (size_t i = 0; i < scene.nuclei.size(); ++i) {
    boxes[i] = bounding_rect(scene.nuclei[i], w, h);
    if (boxes[i].empty()) continue;
    for (int b = boxes[i].y / kBand; b <= (boxes[i].br().y - 1) / kBand; ++b) by_band[static_cast<size_t>(b)].push_back(static_cast<int>(i));
  }

  cv::Mat best(kBand, w, CV_32FC1);
  for (int b = 0; b < bands; ++b) {
    int y_begin = b * kBand, y_end = std::min(h, y_begin + kBand);
    best.setTo(std::numeric_limits<float>::max());
    for (int i : by_band[static_cast<size_t>(b)]) {
      const Nucleus& n = scene.nuclei[static_cast<size_t>(i)];
      const cv::Rect& r = boxes[static_cast<size_t>(i)];
      for (int y = std::max(r.y, y_begin); y < std::min(r.br().y, y_end); ++y) {
        float* bs = best.ptr<float>(y - y_begin);
        int* ls = labels.ptr<int>(y);
        for (int x = r.x; x < r.br().x; ++x) {
          float s = n.shape_s(static_cast<float>(x) + 0.5f, static_cast<float>(y) + 0.5f);
          if (s >= 1.0f) continue;
          float key = s - 2.0f * static_cast<float>(n.z);  // s < 1: any higher z wins
          if (key < bs[x]) {
            bs[x] = key;
            ls[x] = i + 1;
          }
        }
      }
    }
  }

  // Keep the largest 8-connected piece of each nucleus (a rare small neighbour can cut one
  // in two) and drop specks left by the image border; then renumber 1..N.
  const int min_area = scene.min_area;
  std::vector<int> remap(scene.nuclei.size() + 1, 0);
  owner.clear();
  cv::Mat mask, comp, stats, centroids;
  for (size_t i = 0; i < scene.nuclei.size(); ++i) {
    if (boxes[i].empty()) continue;
    cv::Mat roi = labels(boxes[i]);
    cv::compare(roi, cv::Scalar(static_cast<int>(i) + 1), mask, cv::CMP_EQ);
    int count = cv::connectedComponentsWithStats(mask, comp, stats, centroids, 8, CV_32S);
    int keep = 0, keep_area = 0;
    for (int c = 1; c < count; ++c) {
      int area = stats.at<int>(c, cv::CC_STAT_AREA);
      if (area > keep_area) keep = c, keep_area = area;
    }
    if (keep_area >= min_area) {
      owner.push_back(static_cast<int>(i));
      remap[i + 1] = static_cast<int>(owner.size());
    }
    if (count > 2 || (count == 2 && keep_area < min_area)) {
      for (int y = 0; y < roi.rows; ++y) {
        int* l = roi.ptr<int>(y);
        const int* c = comp.ptr<int>(y);
        for (int x = 0; x < roi.cols; ++x)
          if (c[x] != 0 && (c[x] != keep || keep_area < min_area)) l[x] = 0;
      }
    }
  }
  for (int y = 0; y < h; ++y) {
    int* l = labels.ptr<int>(y);
    for (int x = 0; x < w; ++x) l[x] = remap[static_cast<size_t>(l[x])];
  }
  return labels;
}

}  // namespace nucseg::synth::detail
