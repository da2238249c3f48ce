// Results of nucseg_infer on disk (docs/inference.md describes the layout):
//   <output>/images/<id>.h5   one file per image, written to a temporary name, read back and
//                             renamed, so a file under its final name is complete; it records
//                             the checkpoint hash and settings that made it and the identity of
//                             its source file (resume redoes a file that is unreadable, was made
//                             otherwise or from another or since changed source);
//   <output>/labels/<id>.png|.tiff  optional label exports (infer.export_labels);
//   <output>/rois/<id>.zip    optional ImageJ ROI sets (infer.export_rois);
//   <output>/segmentation.h5  built by rank 0 at the end: provenance attributes, /images/<id>
//                             external links to the per-image files, /index, one /objects table
//                             (columnar, gzip + shuffle) and the /failures table;
//   <output>/objects.csv, images.csv  the same tables as CSV (tables_csv.hpp), renamed into place
//                             after segmentation.h5.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/infer/inputs.hpp"
#include "nucseg/io/pixel_size.hpp"
#include "nucseg/segment/objects.hpp"

namespace nucseg::infer {

// The source file a result was made from, as one stat gives it (no hash of a big image): a
// result belongs to an image only while its source is this same file, unchanged.
struct SourceIdentity {
  std::string path;       // canonical: absolute, links and ".." resolved ("" when unknown)
  int64_t bytes = -1;     // size (-1: unknown)
  int64_t mtime_ns = -1;  // modification time, nanoseconds since the Unix epoch (-1: unknown)

  bool operator==(const SourceIdentity& o) const { return path == o.path && bytes == o.bytes && mtime_ns == o.mtime_ns; }
  bool operator!=(const SourceIdentity& o) const { return !(*this == o); }
};

// Error(data) naming the file, with the system's reason, when it cannot be stat'ed.
SourceIdentity source_identity(const std::string& path);

struct ImageResult {
  std::string id;
  std::string source_path;
  std::string relative;
  SourceIdentity source;  // of source_path, taken before it was read (unknown: the result reads as stale)
  cv::Mat labels;     // CV_32SC1, 0 background, 1..N
  cv::Mat class_map;  // CV_8UC1, 0 background, 1 interior, 2 border
  std::vector<cv::Mat> probabilities;  // per class, CV_8U (p x 255, rounded) or CV_32F; stored only when asked
  ObjectTable objects;
  int bit_depth = 8;
  int source_channels = 3;
  int effective_bits = 0;  // bits needed for the largest value of the network's input channels (0: unknown)
  double scale = 1.0;      // network pixels per input pixel (infer.diameter)
  io::PixelSize pixel_size;  // the one used: infer.pixel_size, else the file's (choose_pixel_size)
};

// infer.pixel_size when it is set (source "infer.pixel_size"), else what the file says.
io::PixelSize choose_pixel_size(double configured_um, const io::PixelSize& from_file);

// The columns of the objects table that have a physical counterpart when the pixel size is
// known: the pixel column, the converted column (<name>_um or area_um2) and the power of the
// pixel size (1: a length, 2: an area). Positions (centroids, boxes) stay in pixels.
struct PhysicalColumn {
  const char* pixels;
  const char* physical;
  int power;
};
const std::vector<PhysicalColumn>& physical_columns();

struct Failure {
  std::string image_id;
  std::string path;
  std::string reason;
};
std::string serialize_failures(const std::vector<Failure>& failures);
std::vector<Failure> deserialize_failures(const std::string& text);

// Calls f(name, column) for the per-channel columns of an ObjectTable: mean_intensity_c<k> and
// integrated_intensity_c<k> (std::vector<double>) for k = 0 .. channels - 1.
template <class Table, class F>
void for_each_channel_column(Table& t, F&& f) {
  for (size_t k = 0; k < t.channel_mean.size(); ++k) {
    const std::string mean = "mean_intensity_c" + std::to_string(k), sum = "integrated_intensity_c" + std::to_string(k);
    f(mean.c_str(), t.channel_mean[k]);
    f(sum.c_str(), t.channel_integrated[k]);
  }
}

// Calls f(name, column) for every numeric column of an ObjectTable (image_id excluded), in the
// order they are stored, the per-channel columns last; `column` is a std::vector<double> or
// std::vector<int32_t>.
template <class Table, class F>
void for_each_object_column(Table& t, F&& f) {
  f("label", t.label);
  f("area", t.area);
  f("centroid_row", t.centroid_row);
  f("centroid_col", t.centroid_col);
  f("bbox_min_row", t.bbox_min_row);
  f("bbox_min_col", t.bbox_min_col);
  f("bbox_max_row", t.bbox_max_row);
  f("bbox_max_col", t.bbox_max_col);
  f("equivalent_diameter", t.equivalent_diameter);
  f("major_axis_length", t.major_axis_length);
  f("minor_axis_length", t.minor_axis_length);
  f("eccentricity", t.eccentricity);
  f("orientation", t.orientation);
  f("solidity", t.solidity);
  f("perimeter", t.perimeter);
  f("mean_intensity", t.mean_intensity);
  f("min_intensity", t.min_intensity);
  f("max_intensity", t.max_intensity);
  for_each_channel_column(t, f);
}

// What made a per-image result: a file made with another checkpoint or other settings is
// stale, and a resumed run redoes it rather than mixing models in one segmentation.h5.
struct ResultStamp {
  std::string checkpoint_hash;  // fs::file_checksum of the model file
  std::string settings;         // the resolved settings that change results (result_settings())
};

enum class ResultState { missing, done, unreadable, stale };
struct ResultCheck {
  ResultState state = ResultState::missing;
  std::string reason;  // why a file is unreadable or stale, for the log
};

class ResultStore final {
 public:
  // Creates <output>/images. `stamp` is written on every result and compared by check().
  explicit ResultStore(std::filesystem::path output_dir, ResultStamp stamp = {});

  std::filesystem::path result_path(const std::string& id) const;
  // done only for a file of item.id that reads back whole (read_data: every dataset too, else
  // the attributes and shapes), carries this store's stamp and was made from item.path as it
  // is now (source_identity: the same canonical path, size and modification time); stale when
  // the source is another file, changed since, cannot be stat'ed or was not recorded.
  ResultCheck check(const InputItem& item, bool read_data = true) const;
  bool has_result(const InputItem& item) const { return check(item).state == ResultState::done; }

  // Writes <output>/images/<id>.h5 atomically: a temporary sibling, every HDF5 object closed,
  // flushed, read back and checked, fsync'ed, renamed. Error(runtime) with the system's reason
  // (e.g. "No space left on device") when the disk refuses; nothing is left under the final name.
  void write(const ImageResult& result, bool save_probabilities) const;
  // Writes <output>/labels/<id>.png or .tiff atomically (format "png" or "tiff"): unsigned 16-bit,
  // or, when a label exceeds 65535, an unsigned 32-bit TIFF (never float), with a warning when
  // PNG was asked for. A TIFF carries the pixel size when it is known (io/label_tiff.hpp).
  std::filesystem::path export_labels(const ImageResult& result, const std::string& format) const;
  // Writes <output>/rois/<id>.zip atomically: one ImageJ polygon ROI per object
  // (segment::trace_outlines, io::encode_polygon_roi) named by its label, zero-padded to 4 digits
  // ("0017.roi"), in label order. An object whose outline does not fit the format (more than
  // 65535 corners, coordinates past 60000) is left out with a warning.
  std::filesystem::path export_rois(const ImageResult& result) const;
  // For a result already on disk (a resumed run skips its image): writes the exports asked for
  // (labels in `label_format` unless "", the ROI set when `rois`) that are not there yet, from
  // the labels and pixel size of images/<id>.h5. Returns whether it wrote anything.
  bool export_missing(const std::string& id, const std::string& label_format, bool rois) const;

  const std::filesystem::path& dir() const { return dir_; }
  const ResultStamp& stamp() const { return stamp_; }

 private:
  std::filesystem::path dir_;
  ResultStamp stamp_;
};

// What a result file records of how it was made.
struct ResultOrigin {
  ResultStamp stamp;      // empty fields in files of nucseg 0.1
  SourceIdentity source;  // unknown in files written before sources were recorded
};

// Reads a per-image result file back: Error(data) naming the file when it is not complete
// (an attribute or dataset missing or unreadable, shapes or row counts that disagree, another
// image id). Returns what the file records of its making.
ResultOrigin verify_result_file(const std::filesystem::path& file, const std::string& id, bool read_data);

struct Provenance {
  std::string tool_version = NUCSEG_VERSION;
  std::string checkpoint;       // path of the model file
  std::string checkpoint_hash;  // fs::file_checksum of it
  std::string settings;         // result_settings() of the resolved configuration
  std::string config_toml;      // the resolved configuration
  std::string training_config;  // the resolved configuration of the run that wrote the checkpoint
  std::string input_root;
  std::string input_kind;
  std::string normalize;  // the normalisation that ran (io::describe), e.g. "percentile 1 99.8"
  std::string channels;   // the channel choice that ran (TOML text), e.g. "rgb" or [1]
};

struct AssemblySummary {
  long images = 0;   // with a result
  long objects = 0;
  long failures = 0;
  long missing = 0;  // neither a result nor a failure (stopped early)
};

// Rank 0, after every rank is done: builds <output>/segmentation.h5 atomically from the
// per-image results of `inputs` (in input order) and this run's failures.
AssemblySummary assemble_segmentation(const std::filesystem::path& output_dir, const InputSet& inputs,
                                      const std::vector<Failure>& failures, const Provenance& provenance);


}  // namespace nucseg::infer
