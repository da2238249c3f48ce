// The images nucseg_infer finds in a folder tree and the relative path it names each by. Both
// nucseg_infer (infer::discover_inputs) and nucseg_eval (the ids infer gives a truth folder's
// images) take this one listing and pass its relative paths to io::image_ids, so an image's id
// is the same in both tools.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "nucseg/io/folder_listing.hpp"

namespace nucseg::io {

// What the walk left out (or listed as inputs that fail), counted for the log.
struct InputWalkStats {
  size_t hidden = 0;        // hidden files and folders (".name", __MACOSX) left out
  size_t temporary = 0;     // the tools' own temporaries (fs::is_temporary_name) left out
  size_t paired_masks = 0;  // masks beside their images (io::is_paired_mask) left out
  size_t mask_folders = 0;  // masks/ folders beside an images/ folder (Kaggle, flat) left out
  size_t links = 0;         // folders reached a second time through a link (loops included)
  size_t broken_links = 0;  // links to nothing with an image name: listed, they become failures
  size_t unlistable_folders = 0;  // folders below the root that cannot be listed: listed, they become failures
  // Kaggle-like items (<item>/masks/) with no image: no images/ folder, or an images/ folder that
  // gives no input. Listed (the item folder), they become failures.
  size_t items_without_image = 0;
  NotRegularFiles not_regular;     // image-named FIFOs, sockets, devices (or links to them): left out, never opened
  NotRegularFiles unread_formats;  // regular files of formats nucseg does not read: left out, named
  bool output_skipped = false;     // the `exclude` folder lies inside the root and was left out
};

struct ListedInput {
  std::filesystem::path path;  // the file (or folder that fails) to read
  std::string relative;        // relative to the root; in a flat layout, images/ ones relative to images/
};

struct InputListing {
  std::vector<ListedInput> inputs;  // in walk order (callers sort by relative)
  bool flat = false;                // the root is a flat layout (images/ beside masks/)
  InputWalkStats stats;
};

// Walks the folder tree `root` (recursive; .png .tif .tiff .jpg .jpeg, any case). Linked folders
// are followed but each real folder is walked once (real folders before linked ones, each in name
// order), which also ends link loops. Left out: hidden names and temporaries, a mask beside its
// image (io::is_paired_mask), a masks/ folder beside an images/ folder, and `exclude` (the
// tool's output folder) when it lies inside the root. Listed although they cannot be read, so
// that the caller reports them: dead links with an image name, folders below the root that
// cannot be listed, and an item folder below the root with masks/ and no image (no images/ in
// a Kaggle folder, or an images/ that gives no input): read_raw_image says why each fails.
// `list`: lists one folder (io::list_folder when empty; tests inject errors through it).
// Throws Error(data) when the root cannot be listed or folders nest deeper than 64 levels.
InputListing list_input_paths(const std::filesystem::path& root, const std::filesystem::path& exclude = {},
                              const FolderLister& list = {});

// A Kaggle-layout folder: some child <id> holds images/<id>.<image extension>.
bool looks_kaggle(const std::filesystem::path& root);

// `p` absolute with links and ".." resolved as far as it exists; lexically normalised where it
// cannot be resolved. The one spelling inputs and the output folder are compared in.
std::filesystem::path canonical_or_normal(const std::filesystem::path& p);

}  // namespace nucseg::io
