// Private to src/eval: ground truth given as a Kaggle DSB 2018 run-length CSV instead of mask
// folders: stage1_train_labels.csv (ImageId,EncodedPixels; one row per nucleus) or the stage 1
// solution file (ImageId,EncodedPixels,Height,Width,Usage). Encoding: segment/kaggle_rle.hpp.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::eval {

struct RleTruthImage {
  std::string id;
  int height = 0, width = 0;       // 0: the file does not record the size (train labels)
  std::vector<std::string> masks;  // one run-length text per nucleus (rows with empty text: none)
};

// Columns are found by their header names (ImageId and EncodedPixels required, Height and
// Width optional, both or neither); fields may be quoted. Images come in the order of their
// first row. Rows whose Usage is "Ignored" (images the competition did not score) are left
// out and their ids returned in `ignored`. Error(data) naming the file and line for a missing
// column, a short row, a size that is not a positive integer, or sizes that differ between
// rows of one image.
std::vector<RleTruthImage> read_rle_truth(const std::filesystem::path& csv, std::vector<std::string>& ignored);

// The image's nuclei as labels 1..n (CV_32SC1, in row order) at `size` (rows x cols; the
// recorded size when there is one). Error(data) naming the file and image for runs that do
// not fit or masks that overlap.
cv::Mat decode_truth(const RleTruthImage& image, cv::Size size, const std::string& file);

// A size that holds every run of an image whose size is unknown: one row as long as its last
// pixel (object count and areas are right; shapes are not), for truth without a prediction.
cv::Size one_row_size(const RleTruthImage& image);

// One CSV line split into fields ("a,\"b,c\",d" -> a | b,c | d; "" inside quotes is ").
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace nucseg::eval
