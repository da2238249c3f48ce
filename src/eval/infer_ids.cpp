#include "infer_ids.hpp"

#include <algorithm>
#include <vector>

#include "nucseg/io/image_ids.hpp"
#include "nucseg/io/input_listing.hpp"

namespace nucseg::eval {
namespace stdfs = std::filesystem;

InferIds::InferIds(const stdfs::path& root, const stdfs::path& exclude) : root_(root) {
  const auto listing = io::list_input_paths(root, exclude);
  // A flat layout's images are named relative to images/ (the listing, and docs/eval.md).
  if (listing.flat) images_base_ = root / "images";
  std::vector<std::string> relatives;
  for (const auto& input : listing.inputs) relatives.push_back(input.relative);
  std::sort(relatives.begin(), relatives.end());  // infer's order: the numbering of hash clashes follows it
  const auto ids = io::image_ids(relatives);
  for (size_t i = 0; i < relatives.size(); ++i) ids_.emplace(relatives[i], ids[i]);
}

// `path` as the listing names it (io::InputListing's relative).
std::string InferIds::relative(const stdfs::path& path) const {
  const auto rel = path.lexically_relative(root_);
  const bool in_images = !images_base_.empty() && !rel.empty() && *rel.begin() == "images";
  return (in_images ? path.lexically_relative(images_base_) : rel).generic_string();
}

std::string InferIds::of(const stdfs::path& path) const {
  const auto it = ids_.find(relative(path));
  return it == ids_.end() ? std::string() : it->second;
}

std::string InferIds::of_kaggle_item(const std::string& name) const {
  for (auto it = ids_.lower_bound(name + "/images/"); it != ids_.end() && it->first.rfind(name + "/images/", 0) == 0; ++it)
    if (io::image_id_base(it->first) == name) return it->second;
  const auto folder = ids_.find(name);
  return folder == ids_.end() ? std::string() : folder->second;
}

}  // namespace nucseg::eval
