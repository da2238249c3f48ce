#include "infer_ids.hpp"

#include <algorithm>
#include <set>
#include <system_error>
#include <vector>

#include "nucseg/core/fs.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/folder_listing.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/image_ids.hpp"

namespace nucseg::eval {
namespace {

namespace stdfs = std::filesystem;

constexpr int kMaxDepth = 64;  // infer refuses deeper trees

stdfs::path canonical_or_normal(const stdfs::path& p) {
  std::error_code ec;
  auto c = stdfs::weakly_canonical(stdfs::absolute(p, ec), ec);
  return ec ? stdfs::absolute(p).lexically_normal() : c;
}

// Some child <id> holds images/<id>.<image extension>.
bool looks_kaggle(const stdfs::path& root) {
  std::error_code ec;
  for (const auto& child : stdfs::directory_iterator(root, ec)) {
    if (!child.is_directory(ec)) continue;
    const auto id = child.path().filename().string();
    for (const auto& ext : io::image_extensions())
      if (stdfs::is_regular_file(child.path() / "images" / (id + ext), ec)) return true;
  }
  return false;
}

// The paths infer's walk lists (as inputs or as inputs that fail): images that are regular
// files or dead links, folders it cannot list, Kaggle items without images/. Left out as infer
// leaves them: hidden names, temporaries, paired masks, masks/ beside images/, the output
// folder, folders reached a second time (real folders first, each in name order).
class Walk {
 public:
  explicit Walk(const stdfs::path& exclude) {
    if (!exclude.empty()) exclude_ = canonical_or_normal(exclude).string();
  }
  std::vector<stdfs::path> run(const stdfs::path& root) {
    visit(root, 0);
    return std::move(found_);
  }

 private:
  void visit(const stdfs::path& dir, int depth) {
    if (!visited_.insert(canonical_or_normal(dir).string()).second || depth > kMaxDepth) return;
    std::error_code ec;
    const auto entries = io::list_folder(dir, ec);
    if (ec) {
      if (depth > 0) found_.push_back(dir);
      return;
    }
    std::vector<stdfs::path> folders;
    for (const auto& entry : entries) {
      const auto& path = entry.path();
      const auto name = path.filename().string();
      if (name.empty() || name[0] == '.' || fs::is_temporary_name(path)) continue;
      std::error_code kind;
      const auto status = entry.status(kind);  // follows links, as infer's walk does
      if (stdfs::is_directory(status)) folders.push_back(path);
      else if (io::has_image_extension(path) && (!stdfs::exists(status) || stdfs::is_regular_file(status)) &&
               !io::is_paired_mask(path))
        found_.push_back(path);
    }
    std::stable_sort(folders.begin(), folders.end(), [](const stdfs::path& a, const stdfs::path& b) {
      std::error_code ea, eb;
      const bool la = stdfs::is_symlink(a, ea), lb = stdfs::is_symlink(b, eb);
      return la != lb ? !la : a < b;
    });
    for (const auto& folder : folders) {
      std::error_code probe;
      if (!exclude_.empty() && canonical_or_normal(folder).string() == exclude_) continue;
      if (folder.filename() == "masks" && stdfs::is_directory(dir / "images", probe)) continue;
      if (folder.filename() == "masks" && depth > 0 && looks_kaggle(dir.parent_path())) {
        found_.push_back(dir);  // a Kaggle item without images/: infer lists its folder
        continue;
      }
      visit(folder, depth + 1);
    }
  }

  std::string exclude_;
  std::set<std::string> visited_;
  std::vector<stdfs::path> found_;
};

}  // namespace

InferIds::InferIds(const stdfs::path& root, const stdfs::path& exclude) : root_(root) {
  std::error_code ec;
  // A flat layout's images are named relative to images/ (infer's walk, and docs/eval.md).
  if (stdfs::is_directory(root / "images", ec) && stdfs::is_directory(root / "masks", ec)) images_base_ = root / "images";
  std::vector<std::string> relatives;
  for (const auto& path : Walk(exclude).run(root)) relatives.push_back(relative(path));
  std::sort(relatives.begin(), relatives.end());  // infer's order: the numbering of hash clashes follows it
  const auto ids = io::image_ids(relatives);
  for (size_t i = 0; i < relatives.size(); ++i) ids_.emplace(relatives[i], ids[i]);
}

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
