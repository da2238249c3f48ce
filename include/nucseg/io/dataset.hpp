// Dataset layouts on disk and their reading into images plus instance labels.
//   kaggle:      <root>/<id>/images/<id>.png and <root>/<id>/masks/*.png (one binary mask per
//                nucleus, Kaggle DSB 2018 stage1)
//   flat:        <root>/<images_dir>/<stem>.<ext> and <root>/<masks_dir>/<stem>.<ext> (one mask
//                image per input: an instance label image, or a binary mask whose 8-connected
//                components are the instances; see io/mask.hpp)
//   paired:      <root>/<stem>.<ext> beside its mask <root>/<stem>_masks.<ext> (Cellpose's
//                training folders; also _mask, _labels, _label), read as flat masks; Cellpose's
//                predictions (<stem>_cp_masks) and non-image files there are skipped and counted
//   images_only: every image below <root>, recursively (test sets, inference inputs)
// A flat masks folder may name a mask <stem>.<ext> or with one of those suffixes (the exact
// name first, then _masks, _mask, _labels, _label).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/io/folder_listing.hpp"
#include "nucseg/io/mask.hpp"

namespace nucseg::io {

enum class DatasetLayout { kaggle, flat, paired, images_only };

const char* layout_name(DatasetLayout layout);
DatasetLayout parse_layout(const std::string& name);  // kaggle, flat, paired, images_only; Error(config) otherwise

struct DatasetItem {
  std::string id;
  std::filesystem::path image;
  std::vector<std::filesystem::path> masks;  // kaggle: one per nucleus (sorted); flat, paired: the one mask
  DatasetLayout layout = DatasetLayout::kaggle;
  std::filesystem::path mask_folder;         // kaggle: <id>/masks (named when it is empty)
};

// An input that could not even be listed (a folder that cannot be read, a duplicate id, a
// missing mask).
struct ListingProblem {
  std::filesystem::path path;
  std::string reason;
};

// What a listing skipped on purpose: hidden names (".name", files and folders, and __MACOSX)
// and the tools' own temporaries (fs::is_temporary_name), and more below. Callers log the counts.
struct ListingStats {
  size_t hidden = 0;
  size_t temporary = 0;
  size_t others = 0;  // files that are neither image nor mask (Thumbs.db, notes, _seg.npy, _cp_masks)
  size_t empty_mask_folders = 0;  // kaggle: <id>/masks folders without a mask, read as images without nuclei
  size_t extra_images = 0;  // kaggle: files in <id>/images besides the <id>.<ext> that is read, left out
  NotRegularFiles not_regular;  // image-named FIFOs, devices, dead links, folders: left out, never opened
  bool output_skipped = false;    // the `exclude` folder (the tool's output) lay inside the root
};

// flat when <root>/<images_dir> and <root>/<masks_dir> are folders; kaggle when some
// <root>/<id>/images folder exists; paired when an image in <root> is the mask of another
// (is_paired_mask); images_only otherwise. Error(data) when root is not a folder or cannot be
// read (folder_problem).
DatasetLayout detect_layout(const std::filesystem::path& root, const std::string& images_dir = "images",
                            const std::string& masks_dir = "masks");

// The image stem a mask named <stem>_masks (Cellpose), _mask, _labels or _label annotates, and
// in `rank` that suffix's precedence (1 for _masks .. 4 for _label; an exact <stem> is 0);
// empty for other names, <stem>_cp_masks included (Cellpose's saved predictions are not truth).
std::string mask_suffix_stem(const std::string& stem, int* rank = nullptr);
// True when `file` is named as a mask (mask_suffix_stem) or as Cellpose's prediction
// (<stem>_cp_masks) and the image it belongs to lies beside it (<stem>.png .tif .tiff .jpg or
// .jpeg, lower or upper case): an annotation, not an input.
bool is_paired_mask(const std::filesystem::path& file);

// Items sorted by id. Inputs that cannot be listed go to `problems` when given, otherwise the
// first one raises Error(data) naming the path; a folder the system will not list (a Kaggle
// item, a folder of the images_only walk) is one of them, "folder cannot be read (Permission
// denied)", never an empty folder. Hidden files (".name"), the tools' temporaries and files
// without an image extension are skipped and counted in `stats` when given, so a stray
// Thumbs.db or README neither rejects an image nor reads as one; an image-named file that
// cannot be read is still reported by the reader, but an image-named entry that is not a
// regular file (a FIFO, a link to /dev/zero) is counted (stats->not_regular) and never opened;
// in a kaggle item's masks folder, or where it may be the item's image (no <id>.<ext> among the
// regular files), it makes the item a problem. `exclude` (kaggle and images_only): a folder
// below the root that is not data, the tool's own output (stats->output_skipped). The
// images_only walk does not follow linked folders. `list_folder` lists each folder (empty:
// io::list_folder); tests inject listing errors through it.
std::vector<DatasetItem> list_dataset(const std::filesystem::path& root, DatasetLayout layout,
                                      const std::string& images_dir = "images", const std::string& masks_dir = "masks",
                                      std::vector<ListingProblem>* problems = nullptr, ListingStats* stats = nullptr,
                                      const std::filesystem::path& exclude = {}, const FolderLister& list_folder = {});

// Instance labels (CV_32SC1, 0 background, 1..N) of an item whose image has size `expected`.
// kaggle: non-empty masks in file-name order become 1..N (on overlap the first mask keeps the
// pixel; an empty masks folder gives no nuclei); `kind` does not apply. flat, paired: the mask
// read as `kind` (io/mask.hpp: an instance label image, or the 8-connected components of a
// binary mask); `used` receives the kind applied. Error(data) naming the file for a mask of
// another size, an unreadable mask, or an images_only item.
cv::Mat read_instance_labels(const DatasetItem& item, cv::Size expected, MaskKind kind = MaskKind::automatic,
                             MaskKind* used = nullptr);

}  // namespace nucseg::io
