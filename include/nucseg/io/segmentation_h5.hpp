// Reading back what nucseg_infer writes into segmentation.h5 (docs/formats.md): the readers
// that nucseg_eval and infer's own exports share.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "nucseg/io/hdf5.hpp"

namespace nucseg::io {

// images/<id>/labels of an open segmentation.h5 (an external link to images/<id>.h5) as
// CV_32SC1. Throws Error(data) naming the file when the dataset is not 2-D, and naming the
// per-image file (the link's target) when that file is missing or cannot be read.
cv::Mat read_segmentation_labels(const h5::File& segmentation, const std::string& id);

}  // namespace nucseg::io
