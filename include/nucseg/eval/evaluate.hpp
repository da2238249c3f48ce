// Everything nucseg_eval does except reading files: score (truth, prediction) label pairs,
// aggregate, and render the report (JSON for files, a text table for the terminal).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/segment/kaggle_score.hpp"

namespace nucseg::eval {

using segment::DatasetScore;
using segment::ImageScore;

// One image to score: its id and (truth labels, predicted labels).
using LabelPair = std::pair<std::string, std::pair<cv::Mat, cv::Mat>>;

struct EvalResult {
  DatasetScore dataset;
  std::vector<std::pair<std::string, ImageScore>> images;  // in input order
};

// Scores every pair on `threads` threads (0: hardware concurrency). A size mismatch throws
// Error(data) naming the image id.
EvalResult evaluate_pairs(const std::vector<LabelPair>& pairs, int threads = 0);

// The report: {"dataset": {...}, "images": [{"id": ..., ...}, ...]}; strings escaped.
std::string to_json(const DatasetScore& dataset, const std::vector<std::pair<std::string, ImageScore>>& per_image);

// Per-image table (id, objects, score, AP50, P/R/F1, pixel IoU) and the dataset summary.
std::string format_table(const EvalResult& result);

// JSON string literal with quotes, escaping ", \ and control characters.
std::string json_string(const std::string& text);

}  // namespace nucseg::eval
