#include "nucseg/train/preview.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"

namespace nucseg::train {
namespace {

cv::Mat to_rgb8(const cv::Mat& image) {
  if (image.type() != CV_32FC3) throw_data("", "preview: image must be CV_32FC3 (normalised)");
  cv::Mat out;
  image.convertTo(out, CV_8UC3, 255.0);  // saturating: values outside 0..1 clip
  return out;
}

}  // namespace

cv::Mat colour_classes(const cv::Mat& classes) {
  if (classes.type() != CV_8UC1) throw_data("", "preview: class map must be CV_8UC1");
  cv::Mat lut(1, 256, CV_8UC3);
  for (int k = 0; k < 256; ++k) {
    cv::Vec3b c;
    if (k == 0) c = {0, 0, 0};
    else if (k == 1) c = {40, 200, 40};
    else if (k == 2) c = {250, 220, 30};
    else c = {static_cast<uchar>(k * 67 % 256), static_cast<uchar>(k * 131 % 256), static_cast<uchar>(k * 199 % 256)};
    lut.at<cv::Vec3b>(0, k) = c;
  }
  cv::Mat rgb, out;
  cv::cvtColor(classes, rgb, cv::COLOR_GRAY2RGB);
  cv::LUT(rgb, lut.reshape(3, 1), out);
  return out;
}

cv::Mat compose_preview(const std::vector<PreviewRow>& rows, int max_side) {
  if (rows.empty()) throw_data("", "preview: no rows");
  std::vector<cv::Mat> lines;
  int width = 0;
  for (const auto& r : rows) {
    if (r.truth.size() != r.image.size() || r.predicted.size() != r.image.size())
      throw_data("", "preview: image and class maps differ in size");
    double scale = std::min(1.0, static_cast<double>(max_side) / std::max(r.image.rows, r.image.cols));
    cv::Size size(std::max(1, static_cast<int>(std::lround(r.image.cols * scale))),
                  std::max(1, static_cast<int>(std::lround(r.image.rows * scale))));
    cv::Mat panels[3];
    cv::resize(to_rgb8(r.image), panels[0], size, 0, 0, cv::INTER_AREA);
    cv::resize(colour_classes(r.truth), panels[1], size, 0, 0, cv::INTER_NEAREST);
    cv::resize(colour_classes(r.predicted), panels[2], size, 0, 0, cv::INTER_NEAREST);
    cv::Mat line;
    cv::hconcat(panels, 3, line);
    width = std::max(width, line.cols);
    lines.push_back(line);
  }
  for (auto& line : lines)  // rows of different widths are padded on the right
    if (line.cols < width) cv::copyMakeBorder(line, line, 0, 0, 0, width - line.cols, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  cv::Mat out;
  cv::vconcat(lines, out);
  return out;
}

PreviewPng encode_preview(const std::vector<PreviewRow>& rows, int max_side) {
  cv::Mat bgr;
  cv::cvtColor(compose_preview(rows, max_side), bgr, cv::COLOR_RGB2BGR);  // imencode wants BGR
  std::vector<uchar> png;
  if (!cv::imencode(".png", bgr, png)) throw_runtime("cannot encode preview PNG");
  return {std::string(png.begin(), png.end()), bgr.rows, bgr.cols};
}

void write_preview(const std::filesystem::path& file, const std::vector<PreviewRow>& rows, int max_side) {
  const auto png = encode_preview(rows, max_side);
  if (!file.parent_path().empty()) fs::create_directories(file.parent_path());
  fs::write_file_atomic(file, png.bytes);
}

}  // namespace nucseg::train
