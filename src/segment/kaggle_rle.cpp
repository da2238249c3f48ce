// Kaggle DSB 2018 run-length encoding (conventions in kaggle_rle.hpp).
#include "nucseg/segment/kaggle_rle.hpp"

#include <cctype>
#include <map>

#include "nucseg/core/error.hpp"

namespace nucseg::segment {
namespace {

// The next unsigned integer of `text` from `pos` (skipping spaces); false at the end.
bool next_number(const std::string& text, size_t& pos, int64_t& value, const std::string& where) {
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == text.size()) return false;
  if (!std::isdigit(static_cast<unsigned char>(text[pos])))
    throw_data(where, "run-length text holds '" + std::string(1, text[pos]) + "' (expected digits and spaces)");
  value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (value > (int64_t{1} << 40)) throw_data(where, "run-length number too large");
    value = value * 10 + (text[pos++] - '0');
  }
  return true;
}

}  // namespace

std::vector<std::pair<int32_t, std::string>> encode_rle(const cv::Mat& labels) {
  if (labels.type() != CV_32SC1) throw_data("", "encode_rle: labels must be CV_32SC1");
  // Runs per label, (1-based start, length), in column-major order: a run grows while the next
  // pixel in that order has the same label.
  std::map<int32_t, std::vector<std::pair<int64_t, int64_t>>> runs;
  int32_t previous = 0;
  int64_t index = 0;
  for (int c = 0; c < labels.cols; ++c) {
    for (int r = 0; r < labels.rows; ++r, ++index) {
      const int32_t v = labels.at<int32_t>(r, c);
      if (v > 0) {
        if (v == previous) ++runs[v].back().second;
        else runs[v].emplace_back(index + 1, 1);
      }
      previous = v;
    }
  }
  std::vector<std::pair<int32_t, std::string>> out;
  out.reserve(runs.size());
  for (const auto& [label, list] : runs) {
    std::string text;
    for (const auto& [start, length] : list) {
      if (!text.empty()) text += ' ';
      text += std::to_string(start) + ' ' + std::to_string(length);
    }
    out.emplace_back(label, std::move(text));
  }
  return out;
}

void decode_rle(const std::string& rle, int32_t value, cv::Mat& labels, const std::string& where) {
  if (labels.type() != CV_32SC1) throw_data(where, "decode_rle: labels must be CV_32SC1");
  const int64_t rows = labels.rows, total = static_cast<int64_t>(labels.rows) * labels.cols;
  size_t pos = 0;
  int64_t start = 0, length = 0, end = 0;  // end: one past the last pixel painted (0-based)
  while (next_number(rle, pos, start, where)) {
    if (!next_number(rle, pos, length, where)) throw_data(where, "run-length text has an odd count of numbers");
    if (start < 1 || length < 1) throw_data(where, "run " + std::to_string(start) + " " + std::to_string(length) + " is not positive");
    if (start - 1 < end) throw_data(where, "runs are not sorted or overlap at pixel " + std::to_string(start));
    if (start - 1 + length > total)
      throw_data(where, "run " + std::to_string(start) + " " + std::to_string(length) + " reaches beyond the " +
                            std::to_string(labels.rows) + " x " + std::to_string(labels.cols) + " image");
    for (int64_t i = start - 1; i < start - 1 + length; ++i) {
      int32_t& pixel = labels.at<int32_t>(static_cast<int>(i % rows), static_cast<int>(i / rows));
      if (pixel != 0) throw_data(where, "masks overlap at pixel " + std::to_string(i + 1));
      pixel = value;
    }
    end = start - 1 + length;
  }
}

}  // namespace nucseg::segment
