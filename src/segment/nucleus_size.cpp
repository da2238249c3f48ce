#include "nucseg/segment/nucleus_size.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::segment {
namespace {

void check_labels(const cv::Mat& labels, const char* what) {
  if (!labels.empty() && labels.type() != CV_32SC1) throw_runtime(std::string(what) + ": labels must be CV_32SC1");
}

}  // namespace

double median_equivalent_diameter(const cv::Mat& labels) {
  check_labels(labels, "median_equivalent_diameter");
  std::vector<long> area;  // by label; labels are 1..N after packing, so the table stays small
  for (int y = 0; y < labels.rows; ++y) {
    const int32_t* row = labels.ptr<int32_t>(y);
    for (int x = 0; x < labels.cols; ++x) {
      const int32_t v = row[x];
      if (v <= 0) continue;
      if (static_cast<size_t>(v) >= area.size()) area.resize(static_cast<size_t>(v) + 1, 0);
      ++area[static_cast<size_t>(v)];
    }
  }
  std::vector<double> d;
  for (long a : area)
    if (a > 0) d.push_back(std::sqrt(4.0 * static_cast<double>(a) / M_PI));
  if (d.empty()) return 0.0;
  std::sort(d.begin(), d.end());
  const size_t n = d.size();
  return n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
}

double foreground_diameter(const cv::Mat& labels) {
  check_labels(labels, "foreground_diameter");
  if (labels.empty()) return 0.0;
  const cv::Mat fg = labels > 0;
  const int n = cv::countNonZero(fg);
  if (n == 0) return 0.0;
  // The image edge counts as background: a nucleus cut by it reads by its visible part.
  cv::Mat padded;
  cv::copyMakeBorder(fg, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat dist;
  cv::distanceTransform(padded, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
  // distanceTransform measures to the centre of the nearest background pixel, about half a
  // pixel beyond the outline; on rasterised disks of radius 6 to 20 an offset of 0.4 px gives
  // their equivalent diameter within 2% (0.5: 7% small at radius 6; 0.25: 6% large).
  const double sum = cv::sum(dist)[0] - 0.4 * n;
  return 6.0 * std::max(0.0, sum) / n;
}

}  // namespace nucseg::segment
