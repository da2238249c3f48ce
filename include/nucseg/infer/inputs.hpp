// Input discovery for nucseg_infer: which images to segment, and the id each result is
// stored under. Ids come from relative paths but are always single safe file-name components
// (see fs::safe_component), unique within one input set, and stable across reruns of the same
// input set so a resumed run finds its earlier results.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nucseg/io/folder_listing.hpp"

namespace nucseg::infer {

struct InputItem {
  std::string id;        // safe, unique: the name of the result under <output>/images/
  std::string path;      // the file to read (may be missing/corrupt: it then becomes a failure)
  std::string relative;  // the path relative to the input root, as discovered
  uint64_t bytes = 0;    // file size (0 when unknown); used to hand out big images first
};

struct InputSet {
  std::string root;  // the folder, the list file, or the one image
  std::string kind;  // "folder", "kaggle", "flat" (images/ beside masks/), "list" or "file" (one image)
  std::vector<InputItem> items;  // sorted by relative path
  size_t hidden_skipped = 0;     // hidden files and folders (".name") left out
  size_t temporary_skipped = 0;  // the tools' own temporaries (fs::is_temporary_name) left out
  size_t masks_skipped = 0;      // folders: masks beside their images (io::is_paired_mask) left out
  size_t mask_folders_skipped = 0;  // folders: masks/ folders beside an images/ folder (Kaggle, flat) left out
  size_t links_skipped = 0;      // folders reached a second time through a link (loops included)
  size_t broken_links = 0;       // links to nothing with an image name: listed, they become failures
  size_t unlistable_folders = 0;  // folders below the root that cannot be listed: listed, they become failures
  // Kaggle <id>/ with masks/ but no images/, or an images/ without an input: listed, they become failures
  size_t kaggle_items_without_images = 0;
  io::NotRegularFiles not_regular;  // image-named FIFOs, sockets, devices (or links to them): left out, never opened
  // Folders: regular files in formats nucseg does not read (io::has_unread_image_extension), left
  // out and named in a warning. Only the count and names of the type are used (names_text(), not text()).
  io::NotRegularFiles unread_formats;
  bool output_skipped = false;   // the output folder lies inside the input and was left out
};

// `input` is a folder tree (recursive, following linked folders, each real folder once; .png
// .tif .tiff .jpg .jpeg, any case), a text file with one path per line ('#' starts a comment;
// relative lines are relative to the list's folder; a UTF-8 byte-order mark is ignored), or
// one image. In a folder tree these are not inputs: a mask named <stem>_masks, _mask, _labels,
// _label or _cp_masks beside its image <stem> (io::is_paired_mask), a masks/ folder beside an
// images/ folder (Kaggle's <id>/masks; the flat layout's masks/, whose images/ are then named
// relative to images/ as nucseg_eval names that truth), and `output` (the run's output folder)
// when it lies inside the input. Kaggle's <id>/images/<id>.png is named <id> (io::image_ids).
// A folder below the root that cannot be listed (no permission, an I/O error) is an item of
// its own, the folder as its path: reading it fails, so it is recorded in /failures and counts
// towards infer.max_failed_fraction instead of its images vanishing without a word. So is a
// Kaggle item folder (a sibling of a folder holding <id>/images/<id>.png) with masks/ but no
// images/: its masks are never read as images; and an item folder below the root whose images/
// beside masks/ gives no input (empty, or only unread or not regular files). The folder walk is
// io::list_input_paths (nucseg_eval names truth by it too). An image-named entry that is neither
// a folder nor a regular file (a FIFO, a link to /dev/zero) is counted in not_regular, never opened.
// Regular files in a folder tree with the name of a format nucseg does not read (.bmp, .czi:
// io::has_unread_image_extension) are counted and named in unread_formats.
// Throws Error(config, key infer.input) when the input does not exist, cannot be read, is
// neither a folder nor a regular file, is one file of such a format, is `output`, holds no image
// (naming the unread files it holds), or the root itself cannot be listed.
// `list_folder` lists one folder of the walk (all its entries, or an error in `ec`); empty:
// io::list_folder. Tests inject listing errors through it (as root every folder is readable).
using FolderLister = io::FolderLister;
InputSet discover_inputs(const std::string& input, const std::string& output = {}, const FolderLister& list_folder = {});

// Assigns InputItem::id from InputItem::relative for every item with io::image_ids (shared with
// nucseg_eval): the relative path without its extension, made safe; names that collide (after
// sanitising, case-insensitively) all get a suffix from a hash of their relative path, so the
// result does not depend on listing order.
void assign_ids(std::vector<InputItem>& items);

// Serialised form used to broadcast the set from rank 0 to the other ranks.
std::string serialize(const InputSet& set);
InputSet deserialize_inputs(const std::string& text);

}  // namespace nucseg::infer
