#include "nucseg/pack/pack.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/data/targets.hpp"
#include "nucseg/dist/output_lock.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/mask.hpp"
#include "nucseg/io/normalize.hpp"
#include "nucseg/io/shard.hpp"
#include "nucseg/segment/nucleus_size.hpp"
#include "inputs.hpp"

namespace nucseg::pack {
namespace stdfs = std::filesystem;
using detail::Inputs;

namespace {

// Everything but the sources' content that decides the content of this rank's shards: the
// settings and the rank's work list.
std::string rank_plan_hash(const PackConfig& pc, const std::string& channels, const Inputs& in,
                           const std::vector<size_t>& mine, int rank, int size) {
  std::string text = in.root.string() + "|" + io::layout_name(in.layout) + "|" + std::to_string(rank) + "/" +
                     std::to_string(size) + "|" + std::to_string(pc.seed) + "|" + std::to_string(pc.val_fraction) + "|" +
                     std::to_string(pc.border_width) + "|" + std::to_string(pc.compression) + "|" +
                     std::to_string(pc.shard_max_images) + "|" + std::to_string(pc.shard_max_mb) + "|" +
                     std::to_string(io::kShardFormatVersion) + "|" + pc.mask_kind + "|" + channels;
  for (size_t i : mine) {
    const auto& item = in.items[i];
    text += "\n" + item.id + "\t" + item.image.string();
    for (const auto& m : item.masks) text += "\t" + m.string();
  }
  return fs::fnv1a_hex(text.data(), text.size());
}

// "<bytes> <mtime in ns>" of a source file as one stat gives it, "-" when it cannot be stat'ed
// (decoding then rejects the item). Stands in for the content: hashing every image is too slow.
std::string file_stamp(const stdfs::path& path) {
  fs::FileStat st;
  if (!fs::stat_file(path, &st)) return "-";
  return std::to_string(st.bytes) + " " + std::to_string(st.mtime_ns);
}

// The stamps of an item's image and every mask file, in listing order.
std::string source_stamps(const io::DatasetItem& item) {
  std::string text = file_stamp(item.image);
  for (const auto& m : item.masks) text += "\t" + file_stamp(m);
  return text;
}

// The plans of one rank's shards. An image or mask edited in place keeps its path, so the plan
// of the shard holding work items first .. end - 1 (accepted and rejected ones: a shard's
// header records that range) also covers their source stamps: an edit rewrites the shard
// holding it, not every shard. Stamps are taken before any decode, so a file edited mid-pack
// reads as changed.
class ShardPlans final {
 public:
  ShardPlans(std::string rank_plan, const Inputs& in, const std::vector<size_t>& mine) : rank_plan_(std::move(rank_plan)) {
    stamps_.reserve(mine.size());
    for (size_t i : mine) stamps_.push_back(source_stamps(in.items[i]));
  }

  std::string range(size_t first, size_t end) const {
    std::string text = rank_plan_;
    for (size_t i = first; i < std::min(end, stamps_.size()); ++i) text += "\n" + stamps_[i];
    return fs::fnv1a_hex(text.data(), text.size());
  }

 private:
  std::string rank_plan_;
  std::vector<std::string> stamps_;  // per work item of the rank
};

// Shards hold the network's three inputs (data.channels applied here, so a shard never
// stores decoy channels) with their raw values; the loader normalises.
io::ShardRecord decode(const io::DatasetItem& item, const ChannelSpec& channels, const io::NormalizeSpec& normalize,
                       int border_width, io::MaskKind mask_kind, io::MaskKind* used) {
  auto image = io::read_image(item.image, channels, "data.channels");
  // The loader normalises as data.normalize says; a float image's mapped values cannot be fixed-normalised.
  io::check_fixed_normalization(normalize, image.converted, item.image.string(), "data.normalize");
  io::ShardRecord r;
  r.id = item.id;
  r.bit_depth = image.bit_depth;
  r.effective_bits = image.effective_bits;
  r.labels = io::read_instance_labels(item, image.rgb.size(), mask_kind, used);
  const auto doubt = io::annotation_doubt(r.labels);
  if (!doubt.empty())
    log::rank().warn("'{}': {} [{}]", item.id, doubt,
                     item.masks.size() == 1 ? item.masks.front().string() : item.masks.empty() ? item.image.string()
                                                                              : item.masks.front().parent_path().string());
  r.classes = data::class_targets(r.labels, border_width);
  r.nucleus_diameter = segment::median_equivalent_diameter(r.labels);
  r.image = std::move(image.rgb);
  return r;
}

io::RejectedInput rejection(const Error& e, const io::DatasetItem& item) {
  return {e.context().file.empty() ? item.image.string() : e.context().file, e.message()};
}

struct RankResult {
  std::vector<std::string> shards;  // file names, in order
  std::vector<std::string> checksums;  // of each shard file: as written, or as verified on resume
  long accepted = 0;
  long rejected = 0;
  long skipped_shards = 0;
  long label_masks = 0;  // flat masks read as instance label images
  double megabytes = 0;  // decoded image bytes
};

// Existing complete shard that continues this rank's work at `pos` under the same plan?
bool resumable(const stdfs::path& path, const ShardPlans& plans, int64_t pos, io::ShardSummary* summary) {
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return false;
  try {
    *summary = io::read_shard_summary(path);
    if (summary->header.first_item != pos || summary->header.end_item <= pos) return false;
    if (summary->header.plan != plans.range(static_cast<size_t>(pos), static_cast<size_t>(summary->header.end_item))) {
      log::rank().info("rewriting {}: its settings, input list or source files changed since it was written", path.string());
      return false;
    }
    // Its content against the checksum recorded when it was written: a damaged shard is
    // rewritten, never blessed with a checksum of what is on disk now.
    io::verify_shard(path);
  } catch (const Error& e) {
    log::rank().warn("rewriting {}: {}", path.string(), e.message());
    return false;
  }
  return true;
}

RankResult pack_rank(const PackConfig& pc, const ChannelSpec& channel_spec, const io::NormalizeSpec& normalize, const Inputs& in,
                     const std::vector<size_t>& mine, const dist::World& world, double progress_seconds) {
  RankResult result;
  const stdfs::path out(pc.output);
  const std::string channels = to_toml(channel_spec);
  const ShardPlans plans(rank_plan_hash(pc, channels, in, mine, world.rank(), world.size()), in, mine);
  const io::MaskKind mask_kind = io::parse_mask_kind(pc.mask_kind);
  log::Progress progress("pack (rank 0)", static_cast<long>(mine.size()), progress_seconds, "images");
  size_t pos = 0;
  for (int k = 0; pos < mine.size(); ++k) {
    auto name = shard_file_name(world.rank(), k);
    io::ShardSummary done;
    if (!pc.dry_run && !pc.overwrite && resumable(out / name, plans, static_cast<int64_t>(pos), &done)) {
      pos = static_cast<size_t>(done.header.end_item);
      result.shards.push_back(name);
      result.checksums.push_back(fs::file_checksum(out / name));
      result.accepted += static_cast<long>(done.entries.size());
      result.rejected += static_cast<long>(done.rejected.size());
      ++result.skipped_shards;
      progress.update(static_cast<long>(pos));
      continue;
    }
    std::unique_ptr<io::ShardWriter> writer;
    const size_t writer_first = pos;  // the shard's first work item: its plan covers first .. end - 1
    if (!pc.dry_run) {
      io::ShardHeader header{in.root.string(), pc.border_width, pc.compression, std::string(), static_cast<int64_t>(pos), 0,
                             channels};
      writer = std::make_unique<io::ShardWriter>(out / name, header);
    }
    long in_shard = 0;
    double shard_mb = 0;
    while (pos < mine.size() && in_shard < pc.shard_max_images && shard_mb < pc.shard_max_mb) {
      const auto& item = in.items[mine[pos++]];
      try {
        io::MaskKind used = io::MaskKind::binary;
        auto record = decode(item, channel_spec, normalize, pc.border_width, mask_kind, &used);
        if (in.layout != io::DatasetLayout::kaggle && used == io::MaskKind::labels) ++result.label_masks;
        double mb = static_cast<double>(record.image.total() * record.image.elemSize()) / 1e6;
        if (writer) {
          writer->add(record, split_for(item.id, pc.seed, pc.val_fraction), item.image.string());
          shard_mb = writer->raw_megabytes();
        }
        ++in_shard;
        ++result.accepted;
        result.megabytes += mb;
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::data) throw;  // a failing disk or library is not a bad input
        auto r = rejection(e, item);
        log::rank().warn("skipping '{}': {} [{}]", item.id, r.reason, r.path);
        if (writer) writer->reject(r);
        ++result.rejected;
      }
      progress.update(static_cast<long>(pos), result.megabytes);
    }
    if (writer) {
      writer->set_end_item(static_cast<int64_t>(pos));
      writer->set_plan(plans.range(static_cast<size_t>(writer_first), pos));
      writer->commit();
      result.shards.push_back(name);
      result.checksums.push_back(writer->file_checksum());
    }
  }
  progress.finish();
  return result;
}

// Rank 0: the index from the shards every rank reports, then stale shards of older plans go.
void write_index_and_clean(const PackConfig& pc, const ChannelSpec& channels, const Inputs& in,
                           const std::vector<std::string>& reports) {
  const stdfs::path out(pc.output);
  io::IndexContents index;
  index.channels = to_toml(channels);
  index.source_root = in.root.string();
  index.layout = io::layout_name(in.layout);
  index.border_width = pc.border_width;
  index.seed = pc.seed;
  index.val_fraction = pc.val_fraction;
  for (const auto& p : in.problems) index.rejected.push_back({p.path.string(), p.reason});
  for (const auto& report : reports) {
    size_t start = 0;
    while (start < report.size()) {
      size_t end = report.find('\n', start);
      auto line = report.substr(start, end - start);
      start = end == std::string::npos ? report.size() : end + 1;
      if (line.empty()) continue;
      auto tab = line.find('\t');
      auto name = line.substr(0, tab);
      auto summary = io::read_shard_summary(out / name);
      index.shards.push_back(name);
      index.checksums.push_back(line.substr(tab + 1));
      index.counts.push_back(static_cast<int64_t>(summary.entries.size()));
      for (auto& e : summary.entries) index.entries.push_back(std::move(e));
      for (auto& r : summary.rejected) index.rejected.push_back(std::move(r));
    }
  }
  std::sort(index.entries.begin(), index.entries.end(), [](const io::ShardEntry& a, const io::ShardEntry& b) { return a.id < b.id; });
  std::sort(index.rejected.begin(), index.rejected.end(),
            [](const io::RejectedInput& a, const io::RejectedInput& b) { return a.path < b.path; });
  io::write_index(out, index);
  log::job().info("pack: channels {} (data.channels); median nucleus diameter of the train split {:.1f} px", index.channels,
                  io::median_training_diameter(index.entries));

  static const std::regex ours(R"(shard-r\d+-\d+\.h5(\.tmp-\d+)?|index\.h5\.tmp-\d+)");
  std::error_code ec;
  for (stdfs::directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec)) {
    auto file = it->path().filename().string();
    if (!std::regex_match(file, ours) || std::find(index.shards.begin(), index.shards.end(), file) != index.shards.end()) continue;
    if (fs::is_temporary_name(it->path()) && !is_stale_temporary(it->path())) continue;  // its writer still runs
    std::error_code rec;
    stdfs::remove(it->path(), rec);
    if (rec) log::job().warn("cannot remove stale {}: {}", it->path().string(), rec.message());
    else log::job().info("removed stale {}", file);
  }
}

}  // namespace

std::string split_for(const std::string& id, int seed, double val_fraction) {
  uint64_t s = static_cast<uint64_t>(seed);
  // The legacy basis keeps every split as nucseg 0.1 drew it (core/fs.hpp).
  uint64_t h = fs::fnv1a(id.data(), id.size(), fs::fnv1a(&s, sizeof s, fs::kLegacyFnvBasis));
  // One more mixing round: FNV's low bits are weak for short, similar ids.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  double u = static_cast<double>(h >> 11) / 9007199254740992.0;  // [0,1) from the top 53 bits
  return u < val_fraction ? "val" : "train";
}

std::string shard_file_name(int rank, int k) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "shard-r%03d-%05d.h5", rank, k);
  return buf;
}

int run_pack(const Config& config, const dist::World& world) {
  const auto& pc = config.pack;
  Inputs in = detail::shared_inputs(pc, world);
  const long total = static_cast<long>(in.items.size() + in.problems.size());
  log::job().info("pack: {} images ({} layout) under {} -> {}{}; skipped {} hidden and {} temporary file(s){}",
                  in.items.size(), io::layout_name(in.layout), in.root.string(),
                  pc.dry_run ? "(dry run, nothing written)" : pc.output,
                  in.problems.empty() ? "" : fmt::format(", {} unlisted inputs", in.problems.size()), in.skipped.hidden,
                  in.skipped.temporary,
                  in.skipped.others ? fmt::format(" and {} other files (neither image nor mask)", in.skipped.others) : "");
  if (in.skipped.output_skipped) log::job().info("pack: the output folder {} lies inside the input: left out", pc.output);
  if (in.skipped.empty_mask_folders)
    log::job().warn("pack: {} image(s) with an empty masks folder, packed as images without nuclei",
                    in.skipped.empty_mask_folders);
  if (in.skipped.extra_images)
    log::job().warn("pack: {} image(s) in Kaggle <id>/images folders besides the one named <id> are not packed",
                    in.skipped.extra_images);
  if (in.skipped.not_regular.count)
    log::job().warn("pack: skipped {} (not opened)", in.skipped.not_regular.text());
  if (world.is_root())
    for (const auto& p : in.problems) log::job().warn("skipping {}: {}", p.path.string(), p.reason);
  // One run per output folder (core/lock.hpp); the lock also creates the folder.
  FolderLock lock;
  if (!pc.dry_run) lock = dist::lock_output_folder(world, pc.output, "nucseg_pack", "pack.output");
  world.barrier();

  // Round-robin by index: neighbouring images (often alike in size) spread over the ranks.
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(world.rank()); i < in.items.size(); i += static_cast<size_t>(world.size()))
    mine.push_back(i);
  const auto start = std::chrono::steady_clock::now();
  RankResult r = pack_rank(pc, config.data.channels, io::normalize_spec(config.data), in, mine, world,
                             config.log.progress_seconds);

  std::string report;
  for (size_t i = 0; i < r.shards.size(); ++i) report += r.shards[i] + "\t" + r.checksums[i] + "\n";
  auto reports = world.gather_strings(report);
  if (world.is_root() && !pc.dry_run) write_index_and_clean(pc, config.data.channels, in, reports);
  world.barrier();

  const long accepted = world.sum(r.accepted);
  const long rejected = world.sum(r.rejected) + static_cast<long>(in.problems.size());
  const long skipped = world.sum(r.skipped_shards);
  const long label_masks = world.sum(r.label_masks);
  if (in.layout == io::DatasetLayout::flat || in.layout == io::DatasetLayout::paired)
    log::job().info("pack: {} masks (pack.mask_kind = {}): {} read as instance label images, the others as binary",
                    io::layout_name(in.layout), pc.mask_kind, label_masks);
  const double mb = world.sum(r.megabytes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::job().info("pack: {} images {}, {} rejected, {} shard(s) resumed; {:.2f} s, {:.1f} images/s, {:.1f} MB/s decoded",
                  accepted, pc.dry_run ? "decoded (dry run)" : "packed", rejected, skipped, seconds, accepted / std::max(seconds, 1e-9), mb / std::max(seconds, 1e-9));
  const double fraction = total > 0 ? static_cast<double>(rejected) / static_cast<double>(total) : 0.0;
  if (fraction > pc.max_rejected_fraction) {
    log::job().error("pack: {} of {} inputs rejected ({:.1f}%), more than pack.max_rejected_fraction = {}", rejected, total,
                     100.0 * fraction, pc.max_rejected_fraction);
    return exit_codes::partial;
  }
  return exit_codes::ok;
}

}  // namespace nucseg::pack
