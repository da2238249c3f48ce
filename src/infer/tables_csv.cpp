#include "tables_csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "nucseg/core/error.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/io/hdf5.hpp"

namespace nucseg::infer::detail {
namespace {

namespace stdfs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A file written through stdio, every failure an Error with the system's reason.
class CsvFile final {
 public:
  explicit CsvFile(const stdfs::path& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) fail("cannot create");
  }
  ~CsvFile() {
    if (f_) std::fclose(f_);
  }
  void write(const std::string& text) {
    if (!text.empty() && std::fwrite(text.data(), 1, text.size(), f_) != text.size()) fail("cannot write");
  }
  void close() {
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fflush(f) != 0) {
      int err = errno;
      std::fclose(f);
      errno = err;
      fail("cannot write");
    }
    if (std::fclose(f) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const char* what) const { throw_runtime(std::string(what) + ": " + std::strerror(errno), path_.string()); }
  stdfs::path path_;
  std::FILE* f_;
};

void check(herr_t rc, const char* what, const std::string& where) {
  if (rc < 0) throw_runtime(std::string("HDF5: ") + what + " failed" + h5::error_detail(), where);
}

// One numeric column of /objects, read in blocks of rows.
class ColumnReader final {
 public:
  ColumnReader(const h5::File& file, const std::string& name) : name_(name), where_(file.file_name() + ":/objects/" + name) {
    set_ = h5::Handle(H5Dopen2(file.id(), ("objects/" + name).c_str(), H5P_DEFAULT));
    if (!set_.valid()) throw_data(where_, "cannot open the column");
    h5::Handle type(H5Dget_type(set_.get()));
    integer_ = type.valid() && H5Tget_class(type.get()) == H5T_INTEGER;
  }
  const std::string& name() const { return name_; }
  bool integer() const { return integer_; }

  // Rows [first, first + n) as doubles (integer columns are exact: int32 values).
  void read(hsize_t first, hsize_t n, std::vector<double>& out) const {
    out.resize(n);
    if (n == 0) return;
    h5::Handle file_space(H5Dget_space(set_.get()));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &first, nullptr, &n, nullptr), "H5Sselect_hyperslab", where_);
    h5::Handle mem_space(H5Screate_simple(1, &n, nullptr));
    check(H5Dread(set_.get(), H5T_NATIVE_DOUBLE, mem_space.get(), file_space.get(), H5P_DEFAULT, out.data()), "H5Dread", where_);
  }

 private:
  std::string name_, where_;
  h5::Handle set_;
  bool integer_ = false;
};

// The columns of /objects in their documented order: the fixed ones, per-channel pairs, the
// physical ones (image_id is written from the index instead).
std::vector<std::string> object_column_order(const h5::Group& objects) {
  std::vector<std::string> names;
  const ObjectTable schema;
  for_each_object_column(schema, [&](const char* name, const auto&) { names.push_back(name); });
  for (int k = 0; objects.exists("mean_intensity_c" + std::to_string(k)); ++k) {
    names.push_back("mean_intensity_c" + std::to_string(k));
    names.push_back("integrated_intensity_c" + std::to_string(k));
  }
  for (const auto& c : physical_columns())
    if (objects.exists(c.physical)) names.push_back(c.physical);
  return names;
}

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (*std::max_element(v.begin(), v.begin() + static_cast<long>(mid)) + upper);
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_number(double value) { return std::isnan(value) ? std::string() : fmt::format("{}", value); }

void set_size_statistics(ImageRow& row, std::vector<double> area, std::vector<double> equivalent_diameter) {
  if (area.empty()) {
    row.area_mean = row.area_median = row.area_min = row.area_max = row.equivalent_diameter_median = kNaN;
    return;
  }
  double sum = 0;
  for (double a : area) sum += a;
  row.area_mean = sum / static_cast<double>(area.size());
  row.area_min = *std::min_element(area.begin(), area.end());
  row.area_max = *std::max_element(area.begin(), area.end());
  row.area_median = median(std::move(area));
  row.equivalent_diameter_median = median(std::move(equivalent_diameter));
}

void write_objects_csv(const stdfs::path& segmentation, const stdfs::path& file) {
  h5::File seg(segmentation.string(), h5::File::Mode::read);
  const auto ids = seg.read_strings("index/image_id");
  const auto sources = seg.read_strings("index/source_path");
  const auto counts = seg.read<int64_t>("index/n_objects");
  const auto objects = seg.open_group("objects");
  std::vector<ColumnReader> columns;
  for (const auto& name : object_column_order(objects)) columns.emplace_back(seg, name);

  CsvFile out(file);
  std::string text = "image_id,source_path";
  for (const auto& c : columns) text += "," + c.name();
  out.write(text + "\n");
  std::vector<std::vector<double>> block(columns.size());
  hsize_t row = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string prefix = csv_field(ids[i]) + "," + csv_field(sources[i]);
    // Images one at a time, in blocks of at most 65536 rows: memory stays small for any count.
    for (hsize_t done = 0, n = static_cast<hsize_t>(counts[i]); done < n;) {
      const hsize_t take = std::min<hsize_t>(n - done, 65536);
      for (size_t c = 0; c < columns.size(); ++c) columns[c].read(row + done, take, block[c]);
      text.clear();
      for (hsize_t r = 0; r < take; ++r) {
        text += prefix;
        for (size_t c = 0; c < columns.size(); ++c) {
          text += ',';
          const double v = block[c][r];
          text += columns[c].integer() ? std::to_string(static_cast<int64_t>(v)) : csv_number(v);
        }
        text += '\n';
      }
      out.write(text);
      done += take;
    }
    row += static_cast<hsize_t>(counts[i]);
  }
  out.close();
}

void write_images_csv(const std::vector<ImageRow>& rows, const stdfs::path& file) {
  bool any_physical = false;
  for (const auto& r : rows) any_physical = any_physical || r.pixel_size_um > 0;
  CsvFile out(file);
  std::string text =
      "image_id,source_path,relative_path,status,reason,height,width,n_objects,area_mean,area_median,area_min,"
      "area_max,equivalent_diameter_median,pixel_size_um,pixel_size_source,scale,effective_bit_depth";
  if (any_physical) text += ",area_median_um2,equivalent_diameter_median_um";
  out.write(text + "\n");
  for (const auto& r : rows) {
    const bool ok = r.status == "ok";
    auto integer = [&](int64_t v) { return ok ? std::to_string(v) : std::string(); };
    auto number = [&](double v) { return ok ? csv_number(v) : std::string(); };
    const double ps = ok && r.pixel_size_um > 0 ? r.pixel_size_um : kNaN;
    text = csv_field(r.image_id) + "," + csv_field(r.source_path) + "," + csv_field(r.relative_path) + "," + r.status +
           "," + csv_field(r.reason) + "," + integer(r.height) + "," + integer(r.width) + "," + integer(r.n_objects) + "," +
           number(r.area_mean) + "," + number(r.area_median) + "," + number(r.area_min) + "," + number(r.area_max) + "," +
           number(r.equivalent_diameter_median) + "," + csv_number(ps) + "," + csv_field(r.pixel_size_source) + "," +
           number(r.scale) + "," + integer(r.effective_bit_depth);
    if (any_physical) text += "," + csv_number(r.area_median * ps * ps) + "," + csv_number(r.equivalent_diameter_median * ps);
    out.write(text + "\n");
  }
  out.close();
}

}  // namespace nucseg::infer::detail
