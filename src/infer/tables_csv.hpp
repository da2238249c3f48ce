// Private to src/infer: the tables of segmentation.h5 as CSV files, for tools that take a table
// per run (CellProfiler-style analysis, R, spreadsheets, pandas without h5py).
//   objects.csv  one row per object: image_id, source_path, then every column of /objects in
//                the order segmentation.h5 stores them (docs/inference.md);
//   images.csv   one row per input image, in input order: status ok / failed / missing, the
//                failure's reason, size, object count and size statistics, pixel size.
// RFC 4180: comma-separated, "\n" line ends, a header row; a field holding a comma, a quote or a
// line break is quoted, its quotes doubled; NaN (unknown) is an empty field; numbers are printed
// in the shortest form that reads back to the same double. UTF-8 without a byte-order mark.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nucseg::infer::detail {

struct ImageRow {
  std::string image_id, source_path, relative_path;
  std::string status = "ok";  // ok, failed, missing
  std::string reason;         // why failed / missing
  int64_t height = 0, width = 0, n_objects = 0, effective_bit_depth = 0;
  double scale = 1.0;
  double pixel_size_um = 0.0;  // 0: unknown
  std::string pixel_size_source;
  // Object size statistics in pixels (NaN without objects).
  double area_mean = 0, area_median = 0, area_min = 0, area_max = 0, equivalent_diameter_median = 0;
};

// Fills the statistics of `row` from one image's area and equivalent_diameter columns.
void set_size_statistics(ImageRow& row, std::vector<double> area, std::vector<double> equivalent_diameter);

// Writes `file` (a temporary name; the caller renames it) from the complete segmentation.h5
// `segmentation` (its /index and /objects, read in blocks). Error(runtime) with the system's
// reason when the disk refuses.
void write_objects_csv(const std::filesystem::path& segmentation, const std::filesystem::path& file);
void write_images_csv(const std::vector<ImageRow>& rows, const std::filesystem::path& file);

// One CSV field: quoted when it holds a comma, a quote, CR or LF (quotes doubled).
std::string csv_field(const std::string& text);
// A number as CSV: "" for NaN, else the shortest text that reads back to `value`.
std::string csv_number(double value);

}  // namespace nucseg::infer::detail
