// Results in the formats of other tools: label images (PNG/TIFF) and ImageJ ROI sets.
#include <cstdio>

#include <opencv2/imgcodecs.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/io/imagej_roi.hpp"
#include "nucseg/io/label_tiff.hpp"
#include "nucseg/io/zip_writer.hpp"
#include "nucseg/segment/outlines.hpp"

namespace nucseg::infer {

namespace stdfs = std::filesystem;

io::PixelSize choose_pixel_size(double configured_um, const io::PixelSize& from_file) {
  if (configured_um > 0) return {configured_um, "infer.pixel_size"};
  if (from_file.source.empty()) return {from_file.um, "none"};
  return from_file;
}

const std::vector<PhysicalColumn>& physical_columns() {
  static const std::vector<PhysicalColumn> columns = {
      {"area", "area_um2", 2},
      {"equivalent_diameter", "equivalent_diameter_um", 1},
      {"major_axis_length", "major_axis_length_um", 1},
      {"minor_axis_length", "minor_axis_length_um", 1},
      {"perimeter", "perimeter_um", 1},
  };
  return columns;
}

stdfs::path ResultStore::export_labels(const ImageResult& r, const std::string& format) const {
  if (format != "png" && format != "tiff") throw_config("infer.export_labels", "must be png or tiff, got " + format);
  double max_label = 0;
  if (!r.labels.empty()) cv::minMaxLoc(r.labels, nullptr, &max_label);
  const bool fits16 = max_label <= 65535;
  if (!fits16 && format == "png")
    log::rank().warn("{}: {} objects exceed 16-bit PNG labels: written as a 32-bit unsigned TIFF instead", r.id,
                     static_cast<long>(max_label));
  const std::string ext = fits16 && format == "png" ? ".png" : ".tiff";
  cv::Mat out;
  r.labels.convertTo(out, fits16 ? CV_16U : CV_32S);  // labels are >= 0: CV_32S holds the uint32 bits
  std::string bytes;
  if (ext == ".png") {
    std::vector<uchar> png;
    bool ok = false;
    try {
      ok = cv::imencode(ext, out, png);
    } catch (const cv::Exception& e) {
      throw_runtime(std::string("cannot encode label image: ") + e.what(), r.id + ext);
    }
    if (!ok) throw_runtime("cannot encode label image", r.id + ext);
    bytes.assign(png.begin(), png.end());
  } else {
    bytes = io::encode_label_tiff(out, r.pixel_size.um, r.id + ext);
  }
  fs::create_directories(dir_ / "labels");
  auto path = dir_ / "labels" / (fs::safe_component(r.id) + ext);
  fs::write_file_atomic(path, bytes);
  return path;
}

stdfs::path ResultStore::export_rois(const ImageResult& r) const {
  if (r.labels.type() != CV_32SC1) throw_runtime("result of " + r.id + " has labels of an unexpected type");
  io::ZipWriter zip;
  long skipped = 0;
  std::string first_reason;
  for (const auto& outline : segment::trace_outlines(r.labels)) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d", static_cast<int>(outline.label));
    try {
      zip.add(std::string(name) + ".roi", io::encode_polygon_roi(outline.vertices, name));
    } catch (const Error& e) {
      if (skipped++ == 0) first_reason = e.message();
    }
  }
  if (skipped > 0)
    log::rank().warn("{}: {} object(s) left out of the ROI set (first: {})", r.id, skipped, first_reason);
  fs::create_directories(dir_ / "rois");
  auto path = dir_ / "rois" / (fs::safe_component(r.id) + ".zip");
  fs::write_file_atomic(path, zip.finish());
  return path;
}

bool ResultStore::export_missing(const std::string& id, const std::string& label_format, bool rois) const {
  const std::string name = fs::safe_component(id);
  std::error_code ec;
  auto exists = [&](const stdfs::path& p) { return stdfs::exists(p, ec); };
  // A PNG asked for may have been written as TIFF (labels past 65535).
  const bool need_labels = !label_format.empty() && !exists(dir_ / "labels" / (name + "." + label_format)) &&
                           !(label_format == "png" && exists(dir_ / "labels" / (name + ".tiff")));
  const bool need_rois = rois && !exists(dir_ / "rois" / (name + ".zip"));
  if (!need_labels && !need_rois) return false;
  h5::File file(result_path(id).string(), h5::File::Mode::read);
  const auto shape = file.shape("labels");
  if (shape.size() != 2) throw_data(result_path(id).string(), "labels are not a 2-D dataset");
  ImageResult r;
  r.id = id;
  r.labels.create(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_32SC1);
  file.read("labels", h5::Type::i32, r.labels.ptr());
  if (file.has_attr("pixel_size_um")) r.pixel_size = {file.attr_double("pixel_size_um"), file.attr_string("pixel_size_source")};
  if (need_labels) export_labels(r, label_format);
  if (need_rois) export_rois(r);
  return true;
}

}  // namespace nucseg::infer
