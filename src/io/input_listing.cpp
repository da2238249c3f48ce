#include "nucseg/io/input_listing.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/image.hpp"

namespace nucseg::io {
namespace stdfs = std::filesystem;
namespace {

// Names every walk leaves out (io::skipped_name: hidden, __MACOSX, our temporaries), counted.
bool skipped_name(const stdfs::path& p, InputWalkStats& stats) {
  switch (io::skipped_name(p)) {
    case SkippedName::none: return false;
    case SkippedName::hidden:
      if (!p.filename().empty()) ++stats.hidden;
      return true;
    case SkippedName::temporary: ++stats.temporary; return true;
  }
  return false;
}

// Real folders before linked ones, each in name order: when a folder is reachable both ways its
// real path names its images (ids stay the same whatever order the system lists in).
void sort_real_first(std::vector<stdfs::path>& folders) {
  std::stable_sort(folders.begin(), folders.end(), [](const stdfs::path& a, const stdfs::path& b) {
    std::error_code ea, eb;
    const bool la = stdfs::is_symlink(a, ea), lb = stdfs::is_symlink(b, eb);
    return la != lb ? !la : a < b;
  });
}

// One walk of list_input_paths. The output folder (results and label exports of this or an
// earlier run, when it lies inside the input) and a masks/ folder beside an images/ folder
// (Kaggle's <id>/masks, a flat layout's masks/) are annotations or results, not inputs.
class FolderWalk {
 public:
  FolderWalk(const stdfs::path& root, const stdfs::path& exclude, const FolderLister& list, InputListing& out)
      : root_(root), list_(list ? list : FolderLister(list_folder)), out_(out), stats_(out.stats) {
    if (!exclude.empty()) exclude_ = canonical(exclude);
    std::error_code flat_ec;
    // A flat layout's root (images/ beside masks/): its images are named relative to images/,
    // as nucseg_eval names that layout's truth.
    if (stdfs::is_directory(root / "images", flat_ec) && stdfs::is_directory(root / "masks", flat_ec))
      images_base_ = root / "images";
    out_.flat = !images_base_.empty();
  }

  void run() { visit(root_, 0); }

 private:
  static constexpr int kMaxDepth = 64;

  static std::string canonical(const stdfs::path& p) { return canonical_or_normal(p).string(); }

  // False when `dir` was walked before (reached again through a link, or a link loop).
  bool visit(const stdfs::path& dir, int depth) {
    if (!visited_.insert(canonical(dir)).second) {
      ++stats_.links;
      return false;
    }
    if (depth > kMaxDepth)
      throw_data(dir.string(), "folders nested deeper than " + std::to_string(kMaxDepth) + " levels at " + dir.string());
    std::error_code ec;
    const auto entries = list_(dir, ec);
    if (ec && depth == 0) throw_data(dir.string(), cannot_read("input folder " + dir.string(), ec));
    if (ec) {  // the folder is the input that failed: reading it says why (io::read_raw_image)
      ++stats_.unlistable_folders;
      add(dir);
      return true;
    }
    std::vector<stdfs::path> folders;
    for (const auto& entry : entries)
      if (take_entry(entry)) folders.push_back(entry.path());
    sort_real_first(folders);
    visit_folders(dir, folders, depth);
    return true;
  }

  // Lists a file entry as an input or counts it as left out; true for a folder, to walk later.
  bool take_entry(const stdfs::directory_entry& entry) {
    const auto path = entry.path();
    if (skipped_name(path, stats_)) return false;
    std::error_code kind;
    const auto status = entry.status(kind);  // follows links
    if (stdfs::is_directory(status)) return true;
    if (!has_image_extension(path)) {
      // A .bmp or .czi file beside the PNGs is named in the log, not passed over without a word.
      if (has_unread_image_extension(path) && stdfs::is_regular_file(status))
        stats_.unread_formats.add(path.lexically_relative(root_).generic_string());
    } else if (!stdfs::exists(status)) {  // a link to nothing: listed, so that it is reported as a failure
      ++stats_.broken_links;
      add(path);
    } else if (!stdfs::is_regular_file(status)) {  // a FIFO, a device: opening one could block for ever
      stats_.not_regular.add(path.lexically_relative(root_).generic_string());
    } else if (is_paired_mask(path)) {  // x_masks.png beside x.png: an annotation, not an input
      ++stats_.paired_masks;
    } else {
      add(path);
    }
    return false;
  }

  void visit_folders(const stdfs::path& dir, const std::vector<stdfs::path>& folders, int depth) {
    std::error_code probe;
    const bool has_images = stdfs::is_directory(dir / "images", probe);
    bool masks_left_out = false, images_walked = false;
    size_t from_images = 0;
    for (const auto& folder : folders) {
      if (!exclude_.empty() && canonical(folder) == exclude_) {
        stats_.output_skipped = true;
        continue;
      }
      if (folder.filename() == "masks" && has_images) {
        ++stats_.mask_folders;
        masks_left_out = true;
        continue;
      }
      // Kaggle's <id>/masks without <id>/images: the image is missing, the masks are not inputs.
      if (folder.filename() == "masks" && depth > 0 && looks_kaggle(dir.parent_path())) {
        ++stats_.items_without_image;
        add(dir);
        continue;
      }
      const size_t before = out_.inputs.size();
      const bool walked = visit(folder, depth + 1);
      if (folder.filename() == "images") {
        images_walked = walked;
        from_images = out_.inputs.size() - before;
      }
    }
    // An item whose images/ (beside the masks/ left out above) gives no input: without this the
    // item would vanish from the run in silence. Its folder fails (io::read_raw_image says why).
    if (depth > 0 && masks_left_out && images_walked && from_images == 0) {
      ++stats_.items_without_image;
      add(dir);
    }
  }

  void add(const stdfs::path& path) {
    const auto rel = path.lexically_relative(root_);
    const bool in_images = !images_base_.empty() && !rel.empty() && *rel.begin() == "images";
    out_.inputs.push_back({path, (in_images ? path.lexically_relative(images_base_) : rel).generic_string()});
  }

  stdfs::path root_, images_base_;
  std::string exclude_;
  FolderLister list_;
  InputListing& out_;
  InputWalkStats& stats_;
  std::set<std::string> visited_;
};

}  // namespace

InputListing list_input_paths(const stdfs::path& root, const stdfs::path& exclude, const FolderLister& list) {
  InputListing out;
  FolderWalk(root, exclude, list, out).run();
  return out;
}

bool looks_kaggle(const stdfs::path& root) {
  std::error_code ec;
  for (const auto& child : stdfs::directory_iterator(root, ec)) {
    if (!child.is_directory(ec)) continue;
    auto id = child.path().filename().string();
    for (const auto& ext : image_extensions()) {
      if (stdfs::is_regular_file(child.path() / "images" / (id + ext), ec)) return true;
    }
  }
  return false;
}

stdfs::path canonical_or_normal(const stdfs::path& p) {
  std::error_code ec;
  auto c = stdfs::weakly_canonical(stdfs::absolute(p, ec), ec);
  return ec ? stdfs::absolute(p).lexically_normal() : c;
}

}  // namespace nucseg::io
