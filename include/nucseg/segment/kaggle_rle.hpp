// The run-length encoding of the Kaggle Data Science Bowl 2018 (submission files,
// stage1_train_labels.csv, stage1_solution.csv): one mask per nucleus as "start length start
// length ...", pixels numbered from 1, top to bottom, then left to right (column-major: pixel
// 1 is (row 0, col 0), pixel 2 is (row 1, col 0)); runs are sorted, positive and do not
// overlap, and may continue from the bottom of one column into the top of the next.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::segment {

// Every object of `labels` (CV_32SC1, 0 = background) with its encoding, by ascending label, in
// one column-major pass over the pixels.
std::vector<std::pair<int32_t, std::string>> encode_rle(const cv::Mat& labels);

// Paints the pixels of `rle` with `value` into `labels` (CV_32SC1, its size the image's).
// Error(data) naming `where` for text that is not pairs of positive integers, runs that are not
// sorted, overlap each other, reach beyond the image, or pixels already painted (two masks of
// one image overlapping).
void decode_rle(const std::string& rle, int32_t value, cv::Mat& labels, const std::string& where);

}  // namespace nucseg::segment
