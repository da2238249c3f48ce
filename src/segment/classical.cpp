#include "nucseg/segment/classical.hpp"

#include <string>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/label_ops.hpp"

namespace nucseg::segment {
namespace {

// Mean of the channels stretched to 0..255: Otsu needs an 8-bit histogram, and a 16-bit image
// with a narrow range would otherwise collapse into a few bins.
cv::Mat gray8(const cv::Mat& img) {
  cv::Mat f(img.size(), CV_32FC1);
  const int ch = img.channels();
  auto mean_row = [&](const auto* p, float* out) {
    for (int c = 0; c < img.cols; ++c) {
      float s = 0;
      for (int k = 0; k < ch; ++k) s += static_cast<float>(p[c * ch + k]);
      out[c] = s / static_cast<float>(ch);
    }
  };
  for (int r = 0; r < img.rows; ++r) {
    if (img.depth() == CV_8U) mean_row(img.ptr<uint8_t>(r), f.ptr<float>(r));
    else mean_row(img.ptr<uint16_t>(r), f.ptr<float>(r));
  }
  double lo = 0, hi = 0;
  cv::minMaxLoc(f, &lo, &hi);
  cv::Mat out;
  if (hi <= lo) return cv::Mat::zeros(img.size(), CV_8UC1);
  f.convertTo(out, CV_8U, 255.0 / (hi - lo), -lo * 255.0 / (hi - lo));
  return out;
}

}  // namespace

cv::Mat classical_watershed(const cv::Mat& rgb, const ClassicalParams& params) {
  const int d = rgb.depth(), ch = rgb.channels();
  if ((d != CV_8U && d != CV_16U) || (ch != 1 && ch != 3))
    throw_runtime("classical_watershed: image must be CV_8U/CV_16U with 1 or 3 channels (type " + std::to_string(rgb.type()) + ")");
  cv::Mat labels = cv::Mat::zeros(rgb.size(), CV_32SC1);
  if (rgb.empty()) return labels;
  cv::Mat gray = gray8(rgb);
  if (params.blur_sigma > 0) cv::GaussianBlur(gray, gray, cv::Size(), params.blur_sigma);

  cv::Mat fg;
  cv::threshold(gray, fg, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  if (cv::countNonZero(fg) * 2 > static_cast<int>(fg.total())) cv::bitwise_not(fg, fg);
  cv::morphologyEx(fg, fg, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  if (cv::countNonZero(fg) == 0) return labels;

  cv::Mat dist;
  cv::distanceTransform(fg, dist, cv::DIST_L2, cv::DIST_MASK_5);
  cv::GaussianBlur(dist, dist, cv::Size(), 1.0);
  const int k = 2 * params.min_distance + 1;
  cv::Mat dil;
  // A square neighbourhood, as skimage.feature.peak_local_max; separable, hence fast.
  cv::dilate(dist, dil, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(k, k)));
  // Maxima are pixels equal to the local maximum; pixels of a plateau join one seed below.
  cv::Mat peaks = (dist >= dil - 1e-4f) & (dist >= params.min_peak) & fg;
  cv::connectedComponents(peaks, labels, 8, CV_32S);

  cv::Mat elevation = -dist;
  flood_markers(elevation, fg, labels, 1024);
  label_unassigned(fg, labels);
  remove_small_objects(labels, params.min_area);
  fill_holes(labels);
  relabel_sequential(labels);
  return labels;
}

}  // namespace nucseg::segment
