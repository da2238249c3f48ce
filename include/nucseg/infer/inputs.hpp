// Input discovery for nucseg_infer: which images to segment, and the id each result is
// stored under. Ids come from relative paths but are always single safe file-name components
// (see fs::safe_component), unique within one input set, and stable across reruns of the same
// input set so a resumed run finds its earlier results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nucseg::infer {

struct InputItem {
  std::string id;        // safe, unique: the name of the result under <output>/images/
  std::string path;      // the file to read (may be missing/corrupt: it then becomes a failure)
  std::string relative;  // the path relative to the input root, as discovered
  uint64_t bytes = 0;    // file size (0 when unknown); used to hand out big images first
};

struct InputSet {
  std::string root;  // the folder, the list file, or the one image
  std::string kind;  // "folder", "kaggle", "list" or "file" (one image, by its extension)
  std::vector<InputItem> items;  // sorted by relative path
  size_t hidden_skipped = 0;     // hidden files and folders (".name") left out
  size_t temporary_skipped = 0;  // the tools' own temporaries (fs::is_temporary_name) left out
  size_t masks_skipped = 0;      // folders: masks beside their images (io::is_paired_mask) left out
};

// `input` is a folder tree (recursive; .png .tif .tiff .jpg .jpeg, any case; a mask named
// <stem>_masks, _mask, _labels, _label or _cp_masks beside its image <stem> is left out,
// io::is_paired_mask), a Kaggle-layout
// folder (<id>/images/<id>.png; masks ignored), or a text file with one path per line
// ('#' starts a comment; relative lines are relative to the list's folder).
// Throws Error(config, key infer.input) when the input does not exist or holds no image.
InputSet discover_inputs(const std::string& input);

// Assigns InputItem::id from InputItem::relative for every item with io::image_ids (shared with
// nucseg_eval): the relative path without its extension, made safe; names that collide (after
// sanitising, case-insensitively) all get a suffix from a hash of their relative path, so the
// result does not depend on listing order.
void assign_ids(std::vector<InputItem>& items);

// Serialised form used to broadcast the set from rank 0 to the other ranks.
std::string serialize(const InputSet& set);
InputSet deserialize_inputs(const std::string& text);

}  // namespace nucseg::infer
