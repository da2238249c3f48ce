#include "nucseg/infer/output.hpp"


#include "nucseg/core/error.hpp"
#include "nucseg/core/fields.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/hdf5.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;

std::vector<hsize_t> dims_of(const cv::Mat& m) {
  return {static_cast<hsize_t>(m.rows), static_cast<hsize_t>(m.cols)};
}

void write_labels(const h5::Group& g, const cv::Mat& labels) {
  double max_label = 0;
  if (!labels.empty()) cv::minMaxLoc(labels, nullptr, &max_label);
  cv::Mat stored;
  if (max_label <= 65535) {
    labels.convertTo(stored, CV_16U);
    g.write("labels", h5::Type::u16, stored.ptr(), dims_of(labels));
  } else {
    labels.convertTo(stored, CV_32S);  // non-negative: same bits as uint32
    g.write("labels", h5::Type::u32, stored.ptr(), dims_of(labels));
  }
}

}  // namespace

std::string serialize_failures(const std::vector<Failure>& failures) {
  std::string out;
  for (const auto& f : failures) {
    put_field(out, f.image_id);
    put_field(out, f.path);
    put_field(out, f.reason);
  }
  return out;
}

std::vector<Failure> deserialize_failures(const std::string& text) {
  std::vector<Failure> out;
  size_t pos = 0;
  while (pos < text.size()) {
    Failure f;
    f.image_id = take_field(text, pos, "failure list");
    f.path = take_field(text, pos, "failure list");
    f.reason = take_field(text, pos, "failure list");
    out.push_back(std::move(f));
  }
  return out;
}

ResultStore::ResultStore(stdfs::path output_dir, ResultStamp stamp) : dir_(std::move(output_dir)), stamp_(std::move(stamp)) {
  fs::create_directories(dir_ / "images");
}

stdfs::path ResultStore::result_path(const std::string& id) const {
  // Ids come from assign_ids(); re-sanitising here keeps any other caller inside the folder.
  return dir_ / "images" / (fs::safe_component(id) + ".h5");
}

namespace {

// Everything of one result into an open file; every group it opens is closed on return, so
// the caller's close() writes the whole file before it is renamed.
void write_contents(const h5::File& file, const ImageResult& r, const ResultStamp& stamp, bool save_probabilities) {
  file.set_attr("image_id", r.id);
  file.set_attr("source_path", r.source_path);
  file.set_attr("relative_path", r.relative);
  file.set_attr("height", static_cast<int64_t>(r.labels.rows));
  file.set_attr("width", static_cast<int64_t>(r.labels.cols));
  file.set_attr("n_objects", static_cast<int64_t>(r.objects.size()));
  file.set_attr("bit_depth", static_cast<int64_t>(r.bit_depth));
  file.set_attr("source_channels", static_cast<int64_t>(r.source_channels));
  file.set_attr("effective_bit_depth", static_cast<int64_t>(r.effective_bits));
  file.set_attr("scale", r.scale);
  file.set_attr("pixel_size_um", r.pixel_size.um);
  file.set_attr("pixel_size_source", r.pixel_size.source.empty() ? std::string("none") : r.pixel_size.source);
  file.set_attr("checkpoint_hash", stamp.checkpoint_hash);
  file.set_attr("settings", stamp.settings);
  file.set_attr("source_canonical_path", r.source.path);
  file.set_attr("source_bytes", r.source.bytes);
  file.set_attr("source_mtime_ns", r.source.mtime_ns);
  write_labels(file, r.labels);
  cv::Mat class_map = r.class_map.isContinuous() ? r.class_map : r.class_map.clone();
  file.write("class_map", h5::Type::u8, class_map.ptr(), dims_of(class_map));
  if (save_probabilities && !r.probabilities.empty()) {
    // Quantised to uint8 (p * 255, rounded): 4x smaller, ample for inspection and overlays.
    size_t plane = r.labels.total();
    std::vector<uint8_t> q(plane * r.probabilities.size());
    for (size_t k = 0; k < r.probabilities.size(); ++k) {
      cv::Mat dst(r.labels.rows, r.labels.cols, CV_8U, &q[k * plane]);
      if (r.probabilities[k].size() != r.labels.size())
        throw_runtime("result of " + r.id + " has probabilities of the wrong size");
      if (r.probabilities[k].type() == CV_8U) r.probabilities[k].copyTo(dst);  // already quantised
      else r.probabilities[k].convertTo(dst, CV_8U, 255.0);
    }
    file.write("probabilities", h5::Type::u8, q.data(),
               {r.probabilities.size(), static_cast<hsize_t>(r.labels.rows), static_cast<hsize_t>(r.labels.cols)});
    file.set_attr_on("probabilities", "scale", std::string("1/255"));
  }
  auto objects = file.create_group("objects");
  std::vector<std::string> ids(r.objects.size(), r.id);
  objects.write_strings("image_id", ids);
  for_each_object_column(r.objects, [&](const char* name, const auto& column) {
    if (column.size() != r.objects.size()) throw_runtime(std::string("object column ") + name + " has the wrong length");
    objects.write(name, column, {column.size()});
  });
}

}  // namespace

void ResultStore::write(const ImageResult& r, bool save_probabilities) const {
  if (r.labels.type() != CV_32SC1 || r.class_map.type() != CV_8UC1 || r.labels.size() != r.class_map.size())
    throw_runtime("result of " + r.id + " has unexpected label/class map types or sizes");
  auto final_path = result_path(r.id);
  auto tmp = fs::temporary_sibling(final_path);
  try {
    {
      h5::File file(tmp.string(), h5::File::Mode::create_truncate);
      write_contents(file, r, stamp_, save_probabilities);
      file.close();
    }
    try {
      verify_result_file(tmp, r.id, true);
    } catch (const Error& e) {
      throw_runtime("the result did not read back (" + e.message() + ")", tmp.string());
    }
    fs::commit_rename(tmp, final_path);
  } catch (...) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw;
  }
}


}  // namespace nucseg::infer
