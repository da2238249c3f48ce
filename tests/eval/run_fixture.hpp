// Helpers shared by the evaluate_prediction_file tests: truth folders drawn on disk and a
// segmentation.h5 laid out as nucseg_infer writes it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "nucseg/infer/inputs.hpp"
#include "nucseg/io/hdf5.hpp"
#include "../io/test_util.hpp"  // fresh_dir, write_png

namespace nucseg::testing {

// Three nuclei in a row, each touching the next: only a label image can say they are three.
inline cv::Mat touching_labels() {
  cv::Mat labels(40, 60, CV_32SC1, cv::Scalar(0));
  for (int k = 0; k < 3; ++k) labels(cv::Rect(5 + 15 * k, 10, 15, 15)).setTo(k + 1);
  return labels;
}

// A segmentation.h5 as nucseg_infer lays it out, holding `labels` for every id.
inline void write_predictions(const std::filesystem::path& file, const std::vector<std::string>& ids, const cv::Mat& labels) {
  h5::File f(file.string(), h5::File::Mode::create_truncate);
  f.create_group("index").write_strings("image_id", ids);
  {
    auto images = f.create_group("images");  // closed before the file (h5::File::close() checks)
    for (const auto& id : ids)
      images.create_group(id).write("labels", h5::Type::i32, labels.ptr(),
                                    {static_cast<hsize_t>(labels.rows), static_cast<hsize_t>(labels.cols)});
  }
  f.close();
}

// The ids nucseg_infer gives the images under `input`, in its order.
inline std::vector<std::string> infer_ids(const std::filesystem::path& input) {
  std::vector<std::string> ids;
  for (const auto& item : infer::discover_inputs(input.string()).items) ids.push_back(item.id);
  return ids;
}

}  // namespace nucseg::testing
