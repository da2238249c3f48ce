#include "nucseg/infer/magnification.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::infer {
namespace {

constexpr const char* kKey = "infer.diameter";

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

int interpolation(cv::Size from, cv::Size to) {
  return static_cast<double>(to.area()) < static_cast<double>(from.area()) ? cv::INTER_AREA : cv::INTER_LINEAR;
}

}  // namespace

double initial_scale(const DiameterSpec& spec, double training_diameter) {
  // "auto" starts at native scale; without a recorded diameter it stays there (run.cpp warns).
  if (spec.automatic || spec.pixels == 0.0) return 1.0;
  if (!(training_diameter > 0.0))
    throw_config(kKey, "the checkpoint records no nucleus diameter (trained before it was recorded, or from data "
                       "without nuclei), so images cannot be rescaled to a given diameter; set infer.diameter = 0 "
                       "or \"auto\"");
  const double scale = training_diameter / spec.pixels;
  if (scale < kMinScale || scale > kMaxScale)
    throw_config(kKey, "a diameter of " + number(spec.pixels) + " px against the training set's " +
                           number(training_diameter) + " px is a rescale by " + number(scale) + ", outside " +
                           number(kMinScale) + " .. " + number(kMaxScale));
  return scale;
}

bool auto_enlarges_surely(double measured, double training_diameter) {
  return measured > 0.0 && training_diameter > 0.0 && measured < kAutoSurelySmall * training_diameter;
}

double auto_scale(double measured, double width, double training_diameter, bool flow_check) {
  if (!(measured > 0.0) || !(training_diameter > 0.0)) return 1.0;
  const double ratio = training_diameter / measured;
  if (auto_enlarges_surely(measured, training_diameter) || (flow_check && ratio > 1.0))
    return std::clamp(std::max(2.0, ratio), kMinScale, kMaxScale);
  if (ratio <= kAutoTolerance && ratio >= 1.0 / kAutoTolerance) return 1.0;
  if (ratio > 1.0 && width >= training_diameter) return 1.0;
  return std::clamp(ratio, kMinScale, kMaxScale);
}

bool auto_keeps_rescaled(const PassQuality& native, const PassQuality& rescaled, bool surely_small) {
  // A first pass with a flow error had a flow head and labels: a second pass without labels
  // (flow error -1) found nothing there and is not kept.
  if (native.flow_error >= 0.0)
    return rescaled.flow_error >= 0.0 && rescaled.flow_error < native.flow_error - kFlowErrorMargin;
  return surely_small || rescaled.confidence > native.confidence;
}

bool auto_pass_fits(cv::Size input, double scale) {
  const double pixels = static_cast<double>(input.width) * input.height;
  return pixels <= kAutoMaxPixels && pixels * scale * scale <= kAutoMaxPixels;
}

void ForegroundConfidence::add(const std::vector<cv::Mat>& classes) {
  if (classes.empty()) return;
  const cv::Mat foreground = classes[0] < 0.5f;
  const int n = cv::countNonZero(foreground);
  if (n == 0) return;
  cv::Mat top = classes.size() > 1 ? cv::max(classes[0], classes[1]) : classes[0];
  for (size_t k = 2; k < classes.size(); ++k) cv::max(top, classes[k], top);
  sum_ += cv::mean(top, foreground)[0] * n;
  pixels_ += n;
}

segment::SegmentParams params_at_input_scale(const segment::SegmentParams& params, double scale) {
  segment::SegmentParams out = params;
  out.min_area = static_cast<int>(std::lround(params.min_area / (scale * scale)));
  out.seed_distance = std::max(1, static_cast<int>(std::lround(params.seed_distance / scale)));
  if (params.interior_reach > 0)
    out.interior_reach = std::max(1, static_cast<int>(std::lround(params.interior_reach / scale)));
  if (params.core_seed_area > 0)
    out.core_seed_area = std::max(1, static_cast<int>(std::lround(params.core_seed_area / (scale * scale))));
  out.flow_steps = std::max(1, static_cast<int>(std::ceil(params.flow_steps / scale)));
  return out;
}

cv::Size scaled_size(cv::Size size, double scale) {
  return {std::max(1, static_cast<int>(std::lround(size.width * scale))),
          std::max(1, static_cast<int>(std::lround(size.height * scale)))};
}

cv::Mat resize_by(const cv::Mat& image, double scale) {
  const cv::Size to = scaled_size(image.size(), scale);
  cv::Mat out;
  cv::resize(image, out, to, 0, 0, interpolation(image.size(), to));
  return out;
}

std::vector<cv::Mat> resize_planes(const std::vector<cv::Mat>& planes, cv::Size size) {
  std::vector<cv::Mat> out(planes.size());
  for (size_t k = 0; k < planes.size(); ++k) cv::resize(planes[k], out[k], size, 0, 0, interpolation(planes[k].size(), size));
  return out;
}

}  // namespace nucseg::infer
