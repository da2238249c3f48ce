#include "nucseg/io/segmentation_h5.hpp"

#include "nucseg/core/error.hpp"

namespace nucseg::io {

cv::Mat read_segmentation_labels(const h5::File& segmentation, const std::string& id) {
  auto group = segmentation.open_group("images").open_group(id);  // an external link to images/<id>.h5
  auto dims = group.shape("labels");
  if (dims.size() != 2) throw_data(segmentation.file_name(), "images/" + id + "/labels is not a 2-D dataset");
  cv::Mat labels(static_cast<int>(dims[0]), static_cast<int>(dims[1]), CV_32SC1);
  group.read("labels", h5::Type::i32, labels.ptr());
  return labels;
}

}  // namespace nucseg::io
