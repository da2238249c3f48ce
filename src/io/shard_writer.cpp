#include <algorithm>
#include <cstdio>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/shard.hpp"

namespace nucseg::io {
namespace {

std::string slot_name(size_t slot) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06zu", slot);
  return buf;
}

// Rows per chunk so one chunk holds at most ~4 MiB: a typical image is one chunk per
// dataset, and even an 8192^2 16-bit image is read in a few dozen chunks.
hsize_t chunk_rows(const cv::Mat& m) {
  size_t row_bytes = static_cast<size_t>(m.cols) * m.elemSize();
  return std::max<hsize_t>(1, std::min<hsize_t>(static_cast<hsize_t>(m.rows), (4u << 20) / std::max<size_t>(row_bytes, 1)));
}

}  // namespace

ShardWriter::ShardWriter(const std::filesystem::path& path, ShardHeader header)
    : path_(path), temp_(fs::temporary_sibling(path)), header_(std::move(header)) {
  file_ = std::make_unique<h5::File>(temp_.string(), h5::File::Mode::create_truncate);
  images_ = file_->create_group("images");
}

ShardWriter::~ShardWriter() {
  if (committed_) return;
  file_.reset();
  std::error_code ec;
  std::filesystem::remove(temp_, ec);  // an unfinished shard must never be mistaken for one
}

void ShardWriter::add(const ShardRecord& r, const std::string& split, const std::string& source) {
  const std::string where = path_.string() + " (image '" + r.id + "')";
  if (r.image.type() != CV_8UC3 && r.image.type() != CV_16UC3) throw_runtime("shard: image must be CV_8UC3 or CV_16UC3", where);
  if (r.labels.type() != CV_32SC1 || r.classes.type() != CV_8UC1 || r.labels.size() != r.image.size() ||
      r.classes.size() != r.image.size())
    throw_runtime("shard: labels (CV_32SC1) and classes (CV_8UC1) must match the image size", where);
  if (!r.image.isContinuous() || !r.labels.isContinuous() || !r.classes.isContinuous())
    throw_runtime("shard: matrices must be continuous", where);
  double max_label = 0;
  cv::minMaxLoc(r.labels, nullptr, &max_label);
  const auto h = static_cast<hsize_t>(r.image.rows), w = static_cast<hsize_t>(r.image.cols);
  h5::WriteOptions opt{{chunk_rows(r.image), w, 3}, header_.compression, true};
  auto g = images_.create_group(slot_name(ids_.size()));
  g.set_attr("id", r.id);
  g.set_attr("source", source);
  g.set_attr("split", split);
  g.set_attr("bit_depth", int64_t{r.bit_depth});
  g.set_attr("effective_bits", int64_t{r.effective_bits});
  g.set_attr("nucleus_diameter", r.nucleus_diameter);
  g.write("image", r.image.depth() == CV_16U ? h5::Type::u16 : h5::Type::u8, r.image.data, {h, w, 3}, opt);
  opt.chunk = {chunk_rows(r.labels), w};
  {
    // Labels stored as narrow as they fit (uint16 for up to 65535 nuclei, else uint32).
    cv::Mat narrow;
    if (max_label <= 65535) {
      r.labels.convertTo(narrow, CV_16U);
      g.write("labels", h5::Type::u16, narrow.data, {h, w}, opt);
    } else {
      g.write("labels", h5::Type::u32, r.labels.data, {h, w}, opt);  // labels >= 0: same bits as int32
    }
  }
  opt.chunk = {chunk_rows(r.classes), w};
  g.write("classes", h5::Type::u8, r.classes.data, {h, w}, opt);
  g.set_attr("nuclei", static_cast<int64_t>(max_label));
  ids_.push_back(r.id);
  sources_.push_back(source);
  splits_.push_back(split);
  heights_.push_back(r.image.rows);
  widths_.push_back(r.image.cols);
  depths_.push_back(r.bit_depth);
  effective_bits_.push_back(r.effective_bits);
  nuclei_.push_back(static_cast<int32_t>(max_label));
  diameters_.push_back(r.nucleus_diameter);
  checksum_.add(r, split, source);
  raw_bytes_ += static_cast<double>(r.image.total() * r.image.elemSize() + r.labels.total() * 2 + r.classes.total());
}

void ShardWriter::reject(const RejectedInput& rejected) { rejected_.push_back(rejected); }

void ShardWriter::commit() {
  if (committed_) return;
  auto& f = *file_;
  f.set_attr("format", std::string(kShardFormat));
  f.set_attr("format_version", kShardFormatVersion);
  f.set_attr("role", std::string("shard"));
  f.set_attr("creator", std::string("nucseg ") + NUCSEG_VERSION);
  f.set_attr("source_root", header_.source_root);
  f.set_attr("border_width", int64_t{header_.border_width});
  f.set_attr("compression", int64_t{header_.compression});
  f.set_attr("plan", header_.plan);
  f.set_attr("first_item", header_.first_item);
  f.set_attr("end_item", header_.end_item);
  f.set_attr("channels", header_.channels);
  f.set_attr("count", static_cast<int64_t>(ids_.size()));
  f.set_attr("checksum_algorithm", std::string(kChecksumAlgorithm));
  f.set_attr("payload_checksum", checksum_.finish(header_, static_cast<int64_t>(ids_.size())));
  const hsize_t n = ids_.size();
  f.write_strings("ids", ids_);
  f.write_strings("sources", sources_);
  f.write_strings("splits", splits_);
  f.write("heights", heights_, {n});
  f.write("widths", widths_, {n});
  f.write("bit_depths", depths_, {n});
  f.write("effective_bits", effective_bits_, {n});
  f.write("nuclei", nuclei_, {n});
  f.write("nucleus_diameters", diameters_, {n});
  std::vector<std::string> paths, reasons;
  for (const auto& r : rejected_) {
    paths.push_back(r.path);
    reasons.push_back(r.reason);
  }
  f.write_strings("rejected_paths", paths);
  f.write_strings("rejected_reasons", reasons);
  images_ = h5::Group();
  file_->close();
  file_.reset();
  // The index lists the checksum of the file as written here, never one recomputed later
  // from whatever is on disk then.
  file_checksum_ = fs::file_checksum(temp_);
  fs::commit_rename(temp_, path_);
  committed_ = true;
}

namespace {

void mix(uint64_t& h, const void* data, size_t size) { h = fs::fnv1a(data, size, h); }
void mix(uint64_t& h, const std::string& s) { mix(h, s.c_str(), s.size() + 1); }  // with its NUL
void mix(uint64_t& h, int64_t v) { mix(h, &v, sizeof v); }
void mix_rows(uint64_t& h, const cv::Mat& m) {
  for (int y = 0; y < m.rows; ++y) mix(h, m.ptr(y), static_cast<size_t>(m.cols) * m.elemSize());
}

}  // namespace

void ShardChecksum::add(const ShardRecord& r, const std::string& split, const std::string& source) {
  mix(hash_, r.id);
  mix(hash_, split);
  mix(hash_, source);
  mix(hash_, int64_t{r.image.rows});
  mix(hash_, int64_t{r.image.cols});
  mix(hash_, int64_t{r.bit_depth});
  mix(hash_, int64_t{r.effective_bits});                         // format 2
  mix(hash_, &r.nucleus_diameter, sizeof r.nucleus_diameter);    // format 2, float64
  mix_rows(hash_, r.image);
  mix_rows(hash_, r.labels);   // CV_32SC1
  mix_rows(hash_, r.classes);  // CV_8UC1
}

std::string ShardChecksum::finish(const ShardHeader& header, int64_t count) const {
  uint64_t h = hash_;
  mix(h, header.source_root);
  mix(h, int64_t{header.border_width});
  mix(h, int64_t{header.compression});
  mix(h, header.plan);
  mix(h, header.first_item);
  mix(h, header.end_item);
  mix(h, count);
  mix(h, header.channels);  // format 2
  return fs::to_hex(h);
}

}  // namespace nucseg::io
