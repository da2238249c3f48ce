// Preview pictures of validation results, as the seed showed them: per image one row of
// image | true class map | predicted class map, all rows stacked into one PNG.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::train {

struct PreviewRow {
  cv::Mat image;      // CV_32FC3 RGB as the network saw it (normalised: 0..1 drawn as 0..255, clipped)
  cv::Mat truth;      // CV_8UC1 class map
  cv::Mat predicted;  // CV_8UC1 class map
};

// RGB colour of a class map: background black, interior green, border yellow, others varied.
cv::Mat colour_classes(const cv::Mat& classes);

// The composed RGB picture (panels scaled so the longer side is at most `max_side`).
cv::Mat compose_preview(const std::vector<PreviewRow>& rows, int max_side = 256);

// compose_preview(rows) as PNG bytes (RGB), with its size (for TensorBoard's image summary).
struct PreviewPng {
  std::string bytes;
  int height = 0, width = 0;
};
PreviewPng encode_preview(const std::vector<PreviewRow>& rows, int max_side = 256);

// Writes compose_preview(rows) as a PNG atomically.
void write_preview(const std::filesystem::path& file, const std::vector<PreviewRow>& rows, int max_side = 256);

}  // namespace nucseg::train
