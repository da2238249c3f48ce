#include "nucseg/io/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/mask.hpp"

namespace nucseg::io {
namespace stdfs = std::filesystem;
namespace {

// Names every walk leaves out (io::skipped_name), each counted so the listing can say how many
// files it did not read.
bool skipped(const stdfs::path& p, ListingStats* stats) {
  switch (skipped_name(p)) {
    case SkippedName::none: return false;
    case SkippedName::hidden:
      if (stats && !p.filename().empty()) ++stats->hidden;
      return true;
    case SkippedName::temporary:
      if (stats) ++stats->temporary;
      return true;
  }
  return false;
}

// "folder cannot be read (Permission denied)": a folder the system would not list, named as
// folder_problem names one it would not even examine.
std::string unlistable(const std::error_code& ec) { return cannot_read("folder", ec); }

// An image-named entry that is no regular file (a FIFO, a device, a dead link, a folder named
// x.png): counted under its path relative to the dataset root, never opened (a FIFO blocks).
void not_regular(const stdfs::path& root, const stdfs::path& path, ListingStats* stats) {
  if (stats) stats->not_regular.add(path.lexically_relative(root).generic_string());
}

// What one folder held besides the image files files_in returns (hidden and temporary names
// not counted): the caller decides whether an empty result means "empty".
struct FolderRest {
  size_t other_files = 0;  // regular files without an image extension, and other non-folders
  size_t not_regular = 0;  // image-named entries that are no regular file (FIFO, dead link, ...)
  std::string unread;      // the first file in a format nucseg does not read (has_unread_image_extension)
};

// Regular, non-hidden files with an image extension directly in `dir`, sorted by name; other
// files (Thumbs.db, README.txt, Cellpose's _seg.npy) are counted in stats->others, so that a
// stray file neither rejects the image beside it nor reads as an image without a mask; `rest`
// receives this folder's own counts. Failures are returned as text.
std::vector<stdfs::path> files_in(const stdfs::path& root, const stdfs::path& dir, const FolderLister& list,
                                  std::string* failure, ListingStats* stats, FolderRest* rest = nullptr) {
  std::vector<stdfs::path> out;
  FolderRest here;
  *failure = folder_problem(dir);  // a folder that cannot be examined says why: not "missing"
  if (!failure->empty()) return out;
  std::error_code ec;
  const auto entries = list(dir, ec);
  if (ec) {
    *failure = unlistable(ec);
    return out;
  }
  for (const auto& entry : entries) {
    if (skipped(entry.path(), stats)) continue;
    std::error_code fec;
    const bool image_name = has_image_extension(entry.path());
    if (!entry.is_regular_file(fec)) {  // stat() only: the entry is not opened
      if (image_name) {
        not_regular(root, entry.path(), stats);
        ++here.not_regular;
      } else if (!entry.is_directory(fec)) {
        ++here.other_files;
      }
      continue;
    }
    if (image_name) {
      out.push_back(entry.path());
    } else {
      if (here.unread.empty() && has_unread_image_extension(entry.path())) here.unread = entry.path().filename().string();
      ++here.other_files;
      if (stats) ++stats->others;
    }
  }
  if (rest) *rest = here;
  std::sort(out.begin(), out.end());
  return out;
}

// The masks of `masks` keyed by the image stem they annotate: their own stem (rank 0), and the
// stem without a mask suffix (mask_suffix_stem's rank). Per image stem only the best-ranked
// masks are kept: <stem>.png wins over <stem>_masks.png, which wins over <stem>_mask.png; two
// of one rank (x_masks.png and x_masks.tif) stay for the caller to report.
std::map<std::string, std::vector<stdfs::path>> masks_by_image_stem(const std::vector<stdfs::path>& masks) {
  std::map<std::string, std::pair<int, std::vector<stdfs::path>>> best;
  auto offer = [&best](const std::string& stem, int rank, const stdfs::path& m) {
    auto [it, fresh] = best.try_emplace(stem, rank, std::vector<stdfs::path>{});
    if (!fresh && rank > it->second.first) return;
    if (rank < it->second.first) it->second = {rank, {}};
    it->second.second.push_back(m);
  };
  for (const auto& m : masks) {
    offer(m.stem().string(), 0, m);
    int rank = 0;
    const auto base = mask_suffix_stem(m.stem().string(), &rank);
    if (!base.empty()) offer(base, rank, m);
  }
  std::map<std::string, std::vector<stdfs::path>> out;
  for (auto& [stem, ranked] : best) out.emplace(stem, std::move(ranked.second));
  return out;
}

void report(std::vector<ListingProblem>* problems, const stdfs::path& path, const std::string& reason) {
  if (!problems) throw_data(path.string(), reason);
  problems->push_back({path, reason});
}

// True (and counted) when `dir` is the folder a listing must leave out: the tool's own output
// inside its input (pack's shards written into the dataset folder).
bool excluded(const stdfs::path& dir, const stdfs::path& exclude, ListingStats* stats) {
  std::error_code ec;
  if (exclude.empty() || !stdfs::equivalent(dir, exclude, ec)) return false;
  if (stats) stats->output_skipped = true;
  return true;
}

std::vector<DatasetItem> list_kaggle(const stdfs::path& root, const stdfs::path& exclude, const FolderLister& list,
                                     std::vector<ListingProblem>* problems, ListingStats* stats) {
  std::vector<DatasetItem> items;
  std::error_code ec;
  std::vector<stdfs::path> dirs;
  const auto entries = list(root, ec);
  if (ec) throw_data(root.string(), "dataset root " + unlistable(ec));
  for (const auto& entry : entries) {
    std::error_code dec;
    if (!skipped(entry.path(), stats) && entry.is_directory(dec) && !excluded(entry.path(), exclude, stats))
      dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    DatasetItem item;
    item.id = dir.filename().string();
    item.layout = DatasetLayout::kaggle;
    std::string failure;
    FolderRest rest;
    auto images = files_in(root, dir / "images", list, &failure, stats, &rest);
    if (!failure.empty()) {
      report(problems, dir / "images", failure);
      continue;
    }
    // Kaggle names the image after its folder; otherwise accept the folder's only file, unless
    // an image-named entry beside it is no regular file (it may be the image, as <id>.png).
    auto named = std::find_if(images.begin(), images.end(), [&](const stdfs::path& p) { return p.stem() == item.id; });
    if (named != images.end()) {
      item.image = *named;
      if (stats) stats->extra_images += images.size() - 1;  // one image per item: the others are not read
    } else if (images.size() == 1 && rest.not_regular == 0) {
      item.image = images.front();
    } else {
      std::string why = "several images and none named after the folder";
      if (rest.not_regular > 0)
        why = "images folder holds image names that are not regular files (not opened)";
      else if (images.empty() && !rest.unread.empty())
        why = "images folder holds no image nucseg reads: " + rest.unread + " is in a format it does not read (convert "
              "it to PNG or TIFF)";
      else if (images.empty())
        why = "images folder is empty";
      report(problems, dir / "images", why);
      continue;
    }
    item.mask_folder = dir / "masks";
    item.masks = files_in(root, item.mask_folder, list, &failure, stats, &rest);
    if (!failure.empty()) {
      report(problems, item.mask_folder, failure);
      continue;
    }
    // A mask name that is no regular file (a FIFO, a dead link) is a nucleus whose mask cannot
    // be read: the truth would be incomplete.
    if (rest.not_regular > 0) {
      report(problems, item.mask_folder, "masks folder holds mask names that are not regular files (not opened)");
      continue;
    }
    // A masks folder that exists and holds nothing says "no nuclei here" (a background tile);
    // one whose only files are not images (.bmp, .npy masks) is not read as empty truth.
    if (item.masks.empty()) {
      if (rest.other_files > 0) {
        report(problems, item.mask_folder, "masks folder holds no image files (.png .tif .tiff .jpg .jpeg) but other files");
        continue;
      }
      if (stats) ++stats->empty_mask_folders;
    }
    items.push_back(std::move(item));
  }
  return items;
}

// Kaggle <id>/images folders beside a flat layout's images/ + masks/ are not read: each is
// named as a problem, so that a merged download does not lose them in silence.
void kaggle_items_beside(const stdfs::path& root, const std::string& images_dir, const std::string& masks_dir,
                         const FolderLister& list, std::vector<ListingProblem>* problems) {
  std::error_code ec;
  for (const auto& entry : list(root, ec)) {
    const auto name = entry.path().filename().string();
    if (name == images_dir || name == masks_dir || skipped(entry.path(), nullptr)) continue;
    std::error_code dec;
    if (entry.is_directory(dec) && stdfs::is_directory(entry.path() / "images", dec))
      report(problems, entry.path(), "a Kaggle-layout item beside the flat " + images_dir + "/ + " + masks_dir +
                                         "/ folders is not read: give the two layouts folders of their own");
  }
}

// flat: <root>/<images_dir> and <root>/<masks_dir>; paired: both in <root> (images_dir and
// masks_dir unused), x.tif beside x_masks.tif as Cellpose trains.
std::vector<DatasetItem> list_flat(const stdfs::path& root, const std::string& images_dir, const std::string& masks_dir,
                                   bool paired, const FolderLister& list, std::vector<ListingProblem>* problems,
                                   ListingStats* stats) {
  std::string failure;
  const stdfs::path image_folder = paired ? root : root / images_dir;
  auto images = files_in(root, image_folder, list, &failure, stats);
  if (!failure.empty()) throw_data(image_folder.string(), failure);
  std::vector<stdfs::path> masks;
  if (paired) {
    std::vector<stdfs::path> kept;
    for (auto& f : images) {
      if (is_paired_mask(f)) {
        if (mask_suffix_stem(f.stem().string()).empty()) {
          if (stats) ++stats->others;  // x_cp_masks.png: Cellpose's prediction, neither image nor truth
        } else {
          masks.push_back(f);
        }
      } else {
        kept.push_back(f);
      }
    }
    images = std::move(kept);
  } else {
    masks = files_in(root, root / masks_dir, list, &failure, stats);
    if (!failure.empty()) throw_data((root / masks_dir).string(), failure);
    kaggle_items_beside(root, images_dir, masks_dir, list, problems);
  }
  const auto masks_by_stem = masks_by_image_stem(masks);
  std::vector<DatasetItem> items;
  std::set<std::string> seen;
  for (const auto& image : images) {
    DatasetItem item;
    item.id = image.stem().string();
    item.image = image;
    item.layout = paired ? DatasetLayout::paired : DatasetLayout::flat;
    if (!seen.insert(item.id).second) {
      report(problems, image, "another image has the same stem '" + item.id + "'");
      continue;
    }
    auto m = masks_by_stem.find(item.id);
    if (m == masks_by_stem.end()) {
      report(problems, image, "no mask named " + item.id + ".<ext> or " + item.id + "_masks.<ext> (or _mask, _labels, "
                              "_label) in " + (paired ? root : root / masks_dir).string());
      continue;
    }
    if (m->second.size() > 1) {
      report(problems, m->second[1], "several masks annotate the image '" + item.id + "'");
      continue;
    }
    item.masks = m->second;
    items.push_back(std::move(item));
  }
  return items;
}

// The images below `dir`, relative to `root`, appended to `rel`. Linked folders are not
// followed (no loops to guard against). A folder that cannot be listed is a problem, not an
// empty folder: its images would otherwise vanish from the listing without a word.
void walk_images(const stdfs::path& root, const stdfs::path& dir, const stdfs::path& exclude, const FolderLister& list,
                 std::vector<ListingProblem>* problems, ListingStats* stats, std::vector<stdfs::path>& rel) {
  std::error_code ec;
  const auto entries = list(dir, ec);
  if (ec) {
    report(problems, dir, unlistable(ec));
    return;
  }
  for (const auto& entry : entries) {
    const auto& path = entry.path();
    if (skipped(path, stats)) continue;
    std::error_code fec;
    if (stdfs::is_directory(entry.symlink_status(fec))) {
      if (!excluded(path, exclude, stats)) walk_images(root, path, exclude, list, problems, stats, rel);
      continue;
    }
    if (!entry.is_regular_file(fec)) {
      if (has_image_extension(path)) not_regular(root, path, stats);
      continue;
    }
    if (has_image_extension(path)) rel.push_back(path.lexically_relative(root));
    else if (stats) ++stats->others;
  }
}

std::vector<DatasetItem> list_images_only(const stdfs::path& root, const stdfs::path& exclude, const FolderLister& list,
                                          std::vector<ListingProblem>* problems, ListingStats* stats) {
  std::vector<stdfs::path> rel;
  walk_images(root, root, exclude, list, problems, stats, rel);
  std::sort(rel.begin(), rel.end());
  // Ids come from the relative path without extension, made safe for file names; a clash
  // (a/b.png vs a_b.png, x.png vs x.tif) falls back to the full name, then to a hash suffix.
  std::vector<DatasetItem> items;
  std::set<std::string> used;
  for (const auto& r : rel) {
    std::string base = r.parent_path().empty() ? r.stem().string() : (r.parent_path() / r.stem()).generic_string();
    std::string id = fs::safe_component(base);
    if (used.count(id)) id = fs::safe_component(r.generic_string());
    if (used.count(id)) {
      auto s = r.generic_string();
      id += "-" + fs::fnv1a_hex(s.data(), s.size(), fs::kLegacyFnvBasis).substr(0, 8);  // ids stay as before
    }
    used.insert(id);
    DatasetItem item;
    item.id = id;
    item.image = root / r;
    item.layout = DatasetLayout::images_only;
    items.push_back(std::move(item));
  }
  std::sort(items.begin(), items.end(), [](const DatasetItem& a, const DatasetItem& b) { return a.id < b.id; });
  return items;
}

}  // namespace

const char* layout_name(DatasetLayout layout) {
  switch (layout) {
    case DatasetLayout::kaggle: return "kaggle";
    case DatasetLayout::flat: return "flat";
    case DatasetLayout::paired: return "paired";
    case DatasetLayout::images_only: return "images_only";
  }
  return "?";
}

DatasetLayout parse_layout(const std::string& name) {
  if (name == "kaggle") return DatasetLayout::kaggle;
  if (name == "flat") return DatasetLayout::flat;
  if (name == "paired") return DatasetLayout::paired;
  if (name == "images_only") return DatasetLayout::images_only;
  throw_config("layout", "unknown dataset layout '" + name + "' (allowed: kaggle, flat, paired, images_only)");
}

DatasetLayout detect_layout(const stdfs::path& root, const std::string& images_dir, const std::string& masks_dir) {
  const auto problem = folder_problem(root, "dataset root");
  if (!problem.empty()) throw_data(root.string(), problem);
  std::error_code ec;
  if (stdfs::is_directory(root / images_dir, ec) && stdfs::is_directory(root / masks_dir, ec)) return DatasetLayout::flat;
  stdfs::directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code dec;
    if (it->is_directory(dec) && stdfs::is_directory(it->path() / "images", dec)) return DatasetLayout::kaggle;
  }
  if (ec) throw_data(root.string(), "dataset root " + unlistable(ec));
  std::error_code fec;
  for (stdfs::directory_iterator f(root, fec), fend; !fec && f != fend; f.increment(fec)) {
    std::error_code kind;
    if (f->is_regular_file(kind) && has_image_extension(f->path()) && is_paired_mask(f->path())) return DatasetLayout::paired;
  }
  return DatasetLayout::images_only;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr const char* kPredictionSuffix = "_cp_masks";  // Cellpose --save_png: its predictions

}  // namespace

std::string mask_suffix_stem(const std::string& stem, int* rank) {
  if (ends_with(stem, kPredictionSuffix)) return {};
  int r = 1;
  for (const char* suffix : {"_masks", "_mask", "_labels", "_label"}) {
    if (ends_with(stem, suffix)) {
      if (rank) *rank = r;
      return stem.substr(0, stem.size() - std::string(suffix).size());
    }
    ++r;
  }
  return {};
}

bool is_paired_mask(const stdfs::path& file) {
  const auto stem = file.stem().string();
  auto base = mask_suffix_stem(stem);
  if (base.empty() && ends_with(stem, kPredictionSuffix)) base = stem.substr(0, stem.size() - std::strlen(kPredictionSuffix));
  if (base.empty()) return false;
  // The image's extension in lower, upper or title case ('.png', '.PNG', '.Png'): probing names
  // keeps a folder walk linear; rarer mixings ('.pNg') are not recognised.
  std::error_code ec;
  for (const auto& ext : image_extensions()) {
    std::string upper = ext, title = ext;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (title.size() > 1) title[1] = upper[1];
    for (const auto& e : {ext, upper, title})
      if (stdfs::is_regular_file(file.parent_path() / (base + e), ec)) return true;
  }
  return false;
}

std::vector<DatasetItem> list_dataset(const stdfs::path& root, DatasetLayout layout, const std::string& images_dir,
                                      const std::string& masks_dir, std::vector<ListingProblem>* problems,
                                      ListingStats* stats, const stdfs::path& exclude, const FolderLister& list_folder) {
  const auto problem = folder_problem(root, "dataset root");
  if (!problem.empty()) throw_data(root.string(), problem);
  const FolderLister list = list_folder ? list_folder : FolderLister(io::list_folder);
  switch (layout) {
    case DatasetLayout::kaggle: return list_kaggle(root, exclude, list, problems, stats);
    case DatasetLayout::flat: return list_flat(root, images_dir, masks_dir, false, list, problems, stats);
    case DatasetLayout::paired: return list_flat(root, images_dir, masks_dir, true, list, problems, stats);
    case DatasetLayout::images_only: return list_images_only(root, exclude, list, problems, stats);
  }
  return {};
}

namespace {

RawImage read_mask(const stdfs::path& path, cv::Size expected) {
  RawImage raw = read_raw_image(path, PixelRange::labels);
  if (raw.pixels.size() != expected)
    throw_data(path.string(), "mask size " + std::to_string(raw.pixels.cols) + "x" + std::to_string(raw.pixels.rows) +
                                  " differs from image size " + std::to_string(expected.width) + "x" +
                                  std::to_string(expected.height));
  return raw;
}

}  // namespace

cv::Mat read_instance_labels(const DatasetItem& item, cv::Size expected, MaskKind kind, MaskKind* used) {
  if (item.layout == DatasetLayout::images_only) throw_data(item.image.string(), "item has no masks (images_only layout)");
  if (item.masks.empty() && item.layout != DatasetLayout::kaggle) throw_data(item.image.string(), "no mask for this image");
  if (item.layout == DatasetLayout::flat || item.layout == DatasetLayout::paired) {
    const auto& path = item.masks.front();
    return labels_from_mask(read_mask(path, expected), kind, path.string(), used);
  }
  // Kaggle: one binary mask per nucleus, whatever the mask kind.
  if (used) *used = MaskKind::binary;
  cv::Mat labels(expected, CV_32SC1, cv::Scalar(0));
  int next = 1;
  for (const auto& path : item.masks) {
    cv::Mat fg = mask_foreground(read_mask(path, expected));
    cv::Mat free_pixels = (labels == 0) & fg;
    if (cv::countNonZero(free_pixels) == 0) continue;  // empty mask or fully overlapped: no instance
    labels.setTo(cv::Scalar(next++), free_pixels);
  }
  return labels;
}

}  // namespace nucseg::io
