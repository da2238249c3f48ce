// A segmentation.h5 as nucseg_infer lays it out (per-image groups instead of external links),
// for tests of what reads it: the submission writer (infer) and nucseg_eval (eval).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/io/hdf5.hpp"

namespace nucseg::testing {

// images: (image id, CV_32SC1 labels), written as index/image_id and images/<id>/labels.
inline void write_segmentation(const std::filesystem::path& file,
                               const std::vector<std::pair<std::string, cv::Mat>>& images) {
  h5::File f(file.string(), h5::File::Mode::create_truncate);
  std::vector<std::string> ids;
  for (const auto& image : images) ids.push_back(image.first);
  f.create_group("index").write_strings("image_id", ids);
  {
    auto group = f.create_group("images");
    for (const auto& [id, labels] : images)
      group.create_group(id).write("labels", h5::Type::i32, labels.ptr(),
                                   {static_cast<hsize_t>(labels.rows), static_cast<hsize_t>(labels.cols)});
  }
  f.close();
}

}  // namespace nucseg::testing
