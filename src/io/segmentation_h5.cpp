#include "nucseg/io/segmentation_h5.hpp"

#include <filesystem>
#include <vector>

#include <hdf5.h>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

// The file images/<id> links to, resolved against segmentation.h5's folder as HDF5 resolves
// it; empty when it is not an external link (or the link itself cannot be read).
std::filesystem::path link_target(const h5::File& segmentation, const std::string& id) {
  if (!segmentation.exists("images")) return {};
  const auto images = segmentation.open_group("images");
  H5L_info_t info;
  if (H5Lget_info(images.id(), id.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_EXTERNAL) return {};
  std::vector<char> value(info.u.val_size + 1, '\0');
  if (H5Lget_val(images.id(), id.c_str(), value.data(), value.size(), H5P_DEFAULT) < 0) return {};
  unsigned flags = 0;
  const char* file = nullptr;
  const char* object = nullptr;
  if (H5Lunpack_elink_val(value.data(), info.u.val_size, &flags, &file, &object) < 0 || !file) return {};
  std::filesystem::path target(file);
  if (target.is_relative()) target = std::filesystem::path(segmentation.file_name()).parent_path() / target;
  return target.lexically_normal();
}

}  // namespace

cv::Mat read_segmentation_labels(const h5::File& segmentation, const std::string& id) {
  try {
    auto group = segmentation.open_group("images").open_group(id);  // an external link to images/<id>.h5
    auto dims = group.shape("labels");
    if (dims.size() != 2) throw_data(segmentation.file_name(), "images/" + id + "/labels is not a 2-D dataset");
    cv::Mat labels(static_cast<int>(dims[0]), static_cast<int>(dims[1]), CV_32SC1);
    group.read("labels", h5::Type::i32, labels.ptr());
    return labels;
  } catch (const Error& e) {
    // The message would name segmentation.h5:/images/<id>; the file at fault is the link's target.
    const auto target = link_target(segmentation, id);
    if (target.empty()) throw;
    std::error_code ec;
    const std::string why = std::filesystem::exists(target, ec) ? "damaged or not a result file (" + e.message() + ")"
                                                                : std::string("the file does not exist");
    throw_data(target.string(), "cannot read the result of image '" + id + "' (linked from " +
                                    segmentation.file_name() + " /images/" + id + "): " + why);
  }
}

}  // namespace nucseg::io
