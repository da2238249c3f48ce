// Builds <output>/segmentation.h5: one file a script opens to see every image and one objects
// table. Per-image data stay in images/<id>.h5 and are reached through external links with
// paths relative to segmentation.h5 (HDF5 looks next to the parent file), so the output folder
// can be moved as a whole. The objects table is copied into growing chunked datasets, one
// image at a time, so rank 0 never holds more than one image's rows. objects.csv and images.csv
// are written from the finished file and renamed into place after it (tables_csv.hpp).
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>

#include "nucseg/core/clock.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/io/hdf5.hpp"
#include "tables_csv.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;

void check(herr_t rc, const char* what, const std::string& where) {
  if (rc < 0) throw_runtime(std::string("HDF5: ") + what + " failed", where);
}
hid_t checked(hid_t id, const char* what, const std::string& where) {
  if (id < 0) throw_runtime(std::string("HDF5: ") + what + " failed", where);
  return id;
}

h5::Handle vlen_string_type() {
  h5::Handle t(checked(H5Tcopy(H5T_C_S1), "H5Tcopy", "string type"));
  check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", "string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", "string type");
  return t;
}

// A 1-D dataset that grows by appends: chunked, shuffle + gzip (strings: gzip only).
class Column final {
 public:
  Column(const h5::Group& group, const std::string& name, hid_t type, bool is_string)
      : where_(group.file_name() + ":" + group.path() + "/" + name), type_(type) {
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 16384;
    h5::Handle space(checked(H5Screate_simple(1, &zero, &unlimited), "H5Screate_simple", where_));
    h5::Handle props(checked(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", where_));
    check(H5Pset_chunk(props.get(), 1, &chunk), "H5Pset_chunk", where_);
    if (!is_string) check(H5Pset_shuffle(props.get()), "H5Pset_shuffle", where_);
    check(H5Pset_deflate(props.get(), 4), "H5Pset_deflate", where_);
    set_ = h5::Handle(checked(H5Dcreate2(group.id(), name.c_str(), type, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT),
                              "create dataset", where_));
  }

  void append(const void* data, hsize_t n) {
    if (n == 0) return;
    hsize_t new_size = size_ + n;
    check(H5Dset_extent(set_.get(), &new_size), "H5Dset_extent", where_);
    h5::Handle file_space(checked(H5Dget_space(set_.get()), "H5Dget_space", where_));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &size_, nullptr, &n, nullptr), "H5Sselect_hyperslab", where_);
    h5::Handle mem_space(checked(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", where_));
    check(H5Dwrite(set_.get(), type_, mem_space.get(), file_space.get(), H5P_DEFAULT, data), "H5Dwrite", where_);
    size_ = new_size;
  }

  void append_strings(const std::vector<std::string>& values) {
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    append(ptrs.data(), ptrs.size());
  }

 private:
  std::string where_;
  hid_t type_;
  h5::Handle set_;
  hsize_t size_ = 0;
};

// The per-channel columns (mean_intensity_c<k>, integrated_intensity_c<k>): images differ in
// channel count, so a column is created when the first image that has it arrives, with NaN
// for the rows before; an image without it (fewer channels, or a result of an earlier version)
// gets NaN too.
class ChannelColumns final {
 public:
  explicit ChannelColumns(const h5::Group& objects) : objects_(objects) {}

  void append(const h5::Group& image_objects, size_t n, const std::string& where) {
    size_t channels = 0;
    while (image_objects.exists("mean_intensity_c" + std::to_string(channels))) ++channels;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (size_t k = columns_.size() / 2; k < channels; ++k)
      for (const char* stem : {"mean_intensity_c", "integrated_intensity_c"}) {
        const std::string name = stem + std::to_string(k);
        columns_.emplace_back(name, Column(objects_, name, H5T_NATIVE_DOUBLE, false));
        columns_.back().second.append(std::vector<double>(rows_, nan).data(), rows_);
      }
    const std::vector<double> nan_rows(n, nan);
    for (auto& [name, column] : columns_) {
      if (!image_objects.exists(name)) {
        column.append(nan_rows.data(), n);
        continue;
      }
      auto values = image_objects.read<double>(name);
      if (values.size() != n) throw_data(where, "object column " + name + " has the wrong length");
      column.append(values.data(), n);
    }
    rows_ += n;
  }

 private:
  const h5::Group& objects_;  // outlives this object
  std::vector<std::pair<std::string, Column>> columns_;
  hsize_t rows_ = 0;
};

// The physical columns (physical_columns()): created when the first image with a known pixel
// size arrives, NaN for the rows before and for every image whose pixel size is unknown.
class PhysicalColumns final {
 public:
  explicit PhysicalColumns(const h5::Group& objects) : objects_(objects) {}

  void append(const h5::Group& image_objects, size_t n, double pixel_size_um, const std::string& where) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (columns_.empty() && pixel_size_um > 0)
      for (const auto& c : physical_columns()) {
        columns_.emplace_back(objects_, c.physical, H5T_NATIVE_DOUBLE, false);
        columns_.back().append(std::vector<double>(rows_, nan).data(), rows_);
      }
    for (size_t k = 0; k < columns_.size(); ++k) {
      const auto& c = physical_columns()[k];
      std::vector<double> values(n, nan);
      if (pixel_size_um > 0) {
        values = image_objects.read<double>(c.pixels);
        if (values.size() != n) throw_data(where, std::string("object column ") + c.pixels + " has the wrong length");
        const double factor = std::pow(pixel_size_um, c.power);
        for (double& v : values) v *= factor;
      }
      columns_[k].append(values.data(), n);
    }
    rows_ += n;
  }

 private:
  const h5::Group& objects_;  // outlives this object
  std::vector<Column> columns_;
  hsize_t rows_ = 0;
};

void link_external(const h5::Group& group, const std::string& name, const std::string& file) {
  check(H5Lcreate_external(file.c_str(), "/", group.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "H5Lcreate_external", group.file_name() + ":" + group.path() + "/" + name);
}

// /index, one entry per image with a result, and the rows of images.csv, one per input.
struct IndexTable {
  std::vector<std::string> id, source, relative, file, pixel_source;
  std::vector<int64_t> height, width, objects, bits;
  std::vector<double> scale, pixel_size;

  // Reads the attributes of one result; returns its row of images.csv (statistics still to fill).
  detail::ImageRow add(const h5::File& image, const InputItem& item, const std::string& rel) {
    detail::ImageRow r;
    r.image_id = item.id;
    r.source_path = item.path;  // the file check() found this result was made from
    r.relative_path = item.relative;
    r.height = image.attr_int("height");
    r.width = image.attr_int("width");
    r.n_objects = image.attr_int("n_objects");
    // Results written before these attributes existed: unknown bits, no rescaling, no pixel size.
    r.effective_bit_depth = image.has_attr("effective_bit_depth") ? image.attr_int("effective_bit_depth") : 0;
    r.scale = image.has_attr("scale") ? image.attr_double("scale") : 1.0;
    r.pixel_size_um = image.has_attr("pixel_size_um") ? image.attr_double("pixel_size_um") : 0.0;
    r.pixel_size_source = image.has_attr("pixel_size_source") ? image.attr_string("pixel_size_source") : "none";
    id.push_back(r.image_id);
    source.push_back(r.source_path);
    relative.push_back(r.relative_path);
    file.push_back(rel);
    height.push_back(r.height);
    width.push_back(r.width);
    objects.push_back(r.n_objects);
    bits.push_back(r.effective_bit_depth);
    scale.push_back(r.scale);
    pixel_size.push_back(r.pixel_size_um);
    pixel_source.push_back(r.pixel_size_source);
    return r;
  }

  void write(const h5::Group& index) const {
    index.write_strings("image_id", id);
    index.write_strings("source_path", source);
    index.write_strings("relative_path", relative);
    index.write_strings("file", file);
    index.write("height", height, {height.size()});
    index.write("width", width, {width.size()});
    index.write("n_objects", objects, {objects.size()});
    index.write("effective_bit_depth", bits, {bits.size()});
    index.write("scale", scale, {scale.size()});
    index.write("pixel_size_um", pixel_size, {pixel_size.size()});
    index.write_strings("pixel_size_source", pixel_source);
  }
};

// The objects table: the fixed columns, per-channel and physical ones, appended image by image.
class ObjectColumns final {
 public:
  explicit ObjectColumns(const h5::Group& objects)
      : strings_(vlen_string_type()), ids_(objects, "image_id", strings_.get(), true), channels_(objects), physical_(objects) {
    for_each_object_column(schema_, [&](const char* name, const auto& column) {
      using T = typename std::decay_t<decltype(column)>::value_type;
      columns_.emplace_back(objects, name, h5::native_type(h5::type_of<T>()), false);
    });
  }

  // Appends the n rows of one image's objects group; fills the size statistics of `row`.
  void append(const h5::Group& group, size_t n, detail::ImageRow& row, const std::string& where) {
    std::vector<double> area, diameter;
    if (n > 0) {
      ids_.append_strings(std::vector<std::string>(n, row.image_id));
      size_t c = 0;
      for_each_object_column(schema_, [&](const char* name, const auto& column) {
        using T = typename std::decay_t<decltype(column)>::value_type;
        auto values = group.read<T>(name);
        if (values.size() != n) throw_data(where, std::string("object column ") + name + " has the wrong length");
        columns_[c++].append(values.data(), values.size());
        if constexpr (std::is_same_v<T, double>) {
          if (std::strcmp(name, "area") == 0) area.assign(values.begin(), values.end());
          if (std::strcmp(name, "equivalent_diameter") == 0) diameter.assign(values.begin(), values.end());
        }
      });
      channels_.append(group, n, where);
      physical_.append(group, n, row.pixel_size_um, where);
    }
    detail::set_size_statistics(row, std::move(area), std::move(diameter));
  }

 private:
  const ObjectTable schema_;  // only its column names and types are used
  h5::Handle strings_;
  Column ids_;
  std::vector<Column> columns_;
  ChannelColumns channels_;
  PhysicalColumns physical_;
};

// The datasets and groups of segmentation.h5 below the root; all of them are closed when
// this returns, so the caller's close() writes the whole file before the rename. Returns the
// rows of images.csv, in input order.
std::vector<detail::ImageRow> write_tables(const h5::File& out, const ResultStore& store, const InputSet& inputs,
                                           const std::vector<Failure>& failures, AssemblySummary& summary) {
  auto images = out.create_group("images");
  auto objects = out.create_group("objects");
  ObjectColumns columns(objects);
  IndexTable index;
  std::map<std::string, const Failure*> failed;
  for (const auto& f : failures) failed.emplace(f.image_id, &f);
  std::vector<detail::ImageRow> rows;
  for (const auto& item : inputs.items) {
    auto path = store.result_path(item.id);
    // Only results of this run's model and settings, made from this run's input files as they
    // are now: one file never mixes models, nor lists another source's result under an input's
    // name. Each was read back in full when written or resumed; here its stamp, source and
    // shapes are checked.
    auto state = store.check(item, false);
    if (state.state != ResultState::done) {
      if (state.state != ResultState::missing) log::job().warn("segmentation.h5 leaves out {}: {}", item.id, state.reason);
      detail::ImageRow r;
      r.image_id = item.id;
      r.source_path = item.path;
      r.relative_path = item.relative;
      auto f = failed.find(item.id);
      r.status = f != failed.end() ? "failed" : "missing";
      r.reason = f != failed.end() ? f->second->reason : state.state == ResultState::missing ? "no result" : state.reason;
      rows.push_back(std::move(r));
      continue;
    }
    h5::File image(path.string(), h5::File::Mode::read);
    auto rel = (stdfs::path("images") / path.filename()).generic_string();
    link_external(images, item.id, rel);
    auto row = index.add(image, item, rel);
    columns.append(image.open_group("objects"), static_cast<size_t>(row.n_objects), row, path.string());
    ++summary.images;
    summary.objects += static_cast<long>(row.n_objects);
    rows.push_back(std::move(row));
  }
  index.write(out.create_group("index"));

  auto fail = out.create_group("failures");
  std::vector<std::string> f_id, f_path, f_reason;
  for (const auto& f : failures) {
    f_id.push_back(f.image_id);
    f_path.push_back(f.path);
    f_reason.push_back(f.reason);
  }
  fail.write_strings("image_id", f_id);
  fail.write_strings("path", f_path);
  fail.write_strings("reason", f_reason);
  return rows;
}

// segmentation.h5 read back before the rename: attributes, the index and the objects table.
void verify_segmentation(const stdfs::path& file, const AssemblySummary& summary) {
  h5::File f(file.string(), h5::File::Mode::read);
  if (f.attr_int("n_images") != summary.images || f.read_strings("index/image_id").size() != static_cast<size_t>(summary.images))
    throw_data(file.string(), "the index does not hold every image");
  if (f.shape("objects/label") != std::vector<hsize_t>{static_cast<hsize_t>(summary.objects)})
    throw_data(file.string(), "the objects table does not hold every object");
  f.read<int32_t>("objects/label");
  f.read_strings("failures/path");
}

// Renames the finished temporaries into place, segmentation.h5 first: a CSV under its final name
// always belongs to the segmentation.h5 beside it (the old ones were removed before).
void commit_all(const std::vector<std::pair<stdfs::path, stdfs::path>>& renames) {
  for (const auto& [from, to] : renames) fs::commit_rename(from, to);
}

void write_root_attributes(const h5::File& out, const Provenance& provenance) {
  out.set_attr("format", std::string("nucseg-segmentation-1"));
  out.set_attr("tool_version", provenance.tool_version);
  out.set_attr("checkpoint", provenance.checkpoint);
  out.set_attr("checkpoint_hash", provenance.checkpoint_hash);
  out.set_attr("config", provenance.config_toml);
  out.set_attr("settings", provenance.settings);
  out.set_attr("training_config", provenance.training_config);
  out.set_attr("input_root", provenance.input_root);
  out.set_attr("input_kind", provenance.input_kind);
  out.set_attr("normalize", provenance.normalize);
  out.set_attr("channels", provenance.channels);
  out.set_attr("date", utc_timestamp());
}

}  // namespace

AssemblySummary assemble_segmentation(const stdfs::path& output_dir, const InputSet& inputs,
                                      const std::vector<Failure>& failures, const Provenance& provenance) {
  ResultStore store(output_dir, {provenance.checkpoint_hash, provenance.settings});
  const auto final_path = output_dir / "segmentation.h5", objects_csv = output_dir / "objects.csv",
             images_csv = output_dir / "images.csv";
  // CSVs of an earlier assembly would no longer match: they go first, and come back last.
  for (const auto& old : {objects_csv, images_csv}) {
    std::error_code ec;
    if (!stdfs::remove(old, ec) && ec) throw_runtime("cannot remove the old " + old.filename().string() + ": " + ec.message(), old.string());
  }
  const auto tmp = fs::temporary_sibling(final_path), tmp_objects = fs::temporary_sibling(objects_csv),
             tmp_images = fs::temporary_sibling(images_csv);
  AssemblySummary summary;
  try {
    std::vector<detail::ImageRow> rows;
    {
      h5::File out(tmp.string(), h5::File::Mode::create_truncate);
      write_root_attributes(out, provenance);
      rows = write_tables(out, store, inputs, failures, summary);
      summary.failures = static_cast<long>(failures.size());
      summary.missing = static_cast<long>(inputs.items.size()) - summary.images - summary.failures;
      out.set_attr("n_images", static_cast<int64_t>(summary.images));
      out.set_attr("n_objects", static_cast<int64_t>(summary.objects));
      out.set_attr("n_failures", static_cast<int64_t>(summary.failures));
      out.set_attr("n_inputs", static_cast<int64_t>(inputs.items.size()));
      out.close();
    }
    try {
      verify_segmentation(tmp, summary);
    } catch (const Error& e) {
      throw_runtime("segmentation.h5 did not read back (" + e.message() + ")", tmp.string());
    }
    detail::write_objects_csv(tmp, tmp_objects);
    detail::write_images_csv(rows, tmp_images);
    commit_all({{tmp, final_path}, {tmp_objects, objects_csv}, {tmp_images, images_csv}});
  } catch (...) {
    std::error_code ec;
    for (const auto& t : {tmp, tmp_objects, tmp_images}) stdfs::remove(t, ec);
    throw;
  }
  return summary;
}

}  // namespace nucseg::infer
