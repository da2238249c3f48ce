#include "nucseg/data/targets.hpp"

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::data {

cv::Mat class_targets(const cv::Mat& labels, int border_width) {
  if (labels.type() != CV_32SC1) throw_runtime("class_targets: labels must be CV_32SC1");
  if (border_width < 1) throw_runtime("class_targets: border_width must be >= 1");
  const int rows = labels.rows, cols = labels.cols;
  // Pixels (of any label) with an 8-neighbour of a different label. A nucleus pixel p is
  // within distance w of another label exactly when it is within distance w-1 of such an
  // edge pixel: walking from p towards the foreign pixel, the last pixel still carrying any
  // label seen so far is an edge pixel, and an edge pixel of another label is itself foreign.
  cv::Mat edge = segment::label_edges(labels, /*four=*/false);
  if (border_width > 1) {
    cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, {2 * border_width - 1, 2 * border_width - 1});
    cv::dilate(edge, edge, kernel, {-1, -1}, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  }
  cv::Mat classes(rows, cols, CV_8UC1);
  for (int y = 0; y < rows; ++y) {
    const int32_t* l = labels.ptr<int32_t>(y);
    const uint8_t* e = edge.ptr<uint8_t>(y);
    uint8_t* c = classes.ptr<uint8_t>(y);
    for (int x = 0; x < cols; ++x) c[x] = l[x] == 0 ? kBackground : (e[x] ? kBorder : kInterior);
  }
  return classes;
}

}  // namespace nucseg::data
