#include "nucseg/infer/inputs.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <system_error>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fields.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/image_ids.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;
constexpr const char* kKey = "infer.input";

uint64_t size_or_zero(const stdfs::path& p) {
  std::error_code ec;
  auto n = stdfs::file_size(p, ec);
  return ec ? 0 : static_cast<uint64_t>(n);
}

// The input at `p`, named `relative` (its id comes from that later). A missing file gets 0
// bytes: reading it fails and it is reported as a failure.
InputItem item_at(const stdfs::path& p, std::string relative) {
  InputItem item;
  item.path = p.string();
  item.relative = std::move(relative);
  item.bytes = size_or_zero(p);
  return item;
}

// Hidden files and folders (".git", editor droppings) and our own temporaries are skipped
// and counted.
bool skipped_name(const stdfs::path& p, InputSet& set) {
  auto name = p.filename().string();
  if (name.empty()) return true;
  if (name[0] == '.') {
    ++set.hidden_skipped;
    return true;
  }
  if (fs::is_temporary_name(p)) {
    ++set.temporary_skipped;
    return true;
  }
  return false;
}

// `p` absolute with links and ".." resolved as far as it exists; lexically normalised where it
// cannot be resolved. The one spelling inputs and the output folder are compared in.
stdfs::path canonical_or_normal(const stdfs::path& p) {
  std::error_code ec;
  auto c = stdfs::weakly_canonical(stdfs::absolute(p, ec), ec);
  return ec ? stdfs::absolute(p).lexically_normal() : c;
}

// A Kaggle-layout folder: some child <id> holds images/<id>.<image extension>. Only the name
// the log gives the input: the walk is the same for every folder tree.
bool looks_kaggle(const stdfs::path& root) {
  std::error_code ec;
  for (const auto& child : stdfs::directory_iterator(root, ec)) {
    if (!child.is_directory(ec)) continue;
    auto id = child.path().filename().string();
    for (const auto& ext : io::image_extensions()) {
      if (stdfs::is_regular_file(child.path() / "images" / (id + ext), ec)) return true;
    }
  }
  return false;
}

// A folder tree's walk. Linked folders are followed (an archive assembled from links to
// plates) but each real folder is walked once, which also ends link loops; the output folder
// (results and label exports of this or an earlier run, when it lies inside the input) and a
// masks/ folder beside an images/ folder (Kaggle's <id>/masks, a flat layout's masks/) are
// annotations or results, not inputs. A Kaggle item (<id>/ beside other items) with masks/ but
// no images/ is an input that fails, its folder as the path: its masks are never segmented as
// images. Everything left out is counted for the log.
class FolderWalk {
 public:
  FolderWalk(const stdfs::path& root, const stdfs::path& exclude, InputSet& set, FolderLister list)
      : root_(root), set_(set), list_(list ? std::move(list) : FolderLister(io::list_folder)) {
    if (!exclude.empty()) exclude_ = canonical_or_normal(exclude).string();
    std::error_code flat_ec;
    // A flat layout's root (images/ beside masks/): its images are named relative to images/,
    // as nucseg_eval names that layout's truth.
    if (stdfs::is_directory(root / "images", flat_ec) && stdfs::is_directory(root / "masks", flat_ec))
      images_base_ = root / "images";
  }

  std::vector<InputItem> run() {
    visit(root_, 0);
    return std::move(items_);
  }
  bool flat() const { return !images_base_.empty(); }

 private:
  static constexpr int kMaxDepth = 64;

  static std::string canonical(const stdfs::path& p) { return canonical_or_normal(p).string(); }

  void visit(const stdfs::path& dir, int depth) {
    if (!visited_.insert(canonical(dir)).second) {
      ++set_.links_skipped;  // a folder reached again through a link (or a link loop)
      return;
    }
    if (depth > kMaxDepth) throw_config(kKey, "folders nested deeper than " + std::to_string(kMaxDepth) + " levels at " + dir.string());
    std::error_code ec;
    const auto entries = list_(dir, ec);
    if (ec && depth == 0) throw_config(kKey, io::cannot_read("input folder " + dir.string(), ec));
    if (ec) {  // the folder is the input that failed: reading it says why (io::read_raw_image)
      ++set_.unlistable_folders;
      add(dir);
      return;
    }
    std::vector<stdfs::path> folders;
    for (const auto& entry : entries) {
      const auto path = entry.path();
      if (skipped_name(path, set_)) continue;
      std::error_code kind;
      const auto status = entry.status(kind);  // follows links
      if (stdfs::is_directory(status)) {
        folders.push_back(path);
        continue;
      }
      if (!io::has_image_extension(path)) {
        // A .bmp or .czi file beside the PNGs is named in the log, not passed over without a word.
        if (io::has_unread_image_extension(path) && stdfs::is_regular_file(status))
          set_.unread_formats.add(path.lexically_relative(root_).generic_string());
        continue;
      }
      if (!stdfs::exists(status)) {  // a link to nothing: listed, so that it is reported as a failure
        ++set_.broken_links;
        add(path);
        continue;
      }
      if (!stdfs::is_regular_file(status)) {  // a FIFO, a device: opening one could block for ever
        set_.not_regular.add(path.lexically_relative(root_).generic_string());
        continue;
      }
      if (io::is_paired_mask(path)) {  // x_masks.png beside x.png: an annotation, not an input
        ++set_.masks_skipped;
        continue;
      }
      add(path);
    }
    // Real folders before linked ones, each in name order: when a folder is reachable both ways
    // its real path names its images (ids stay the same whatever order the system lists in).
    std::stable_sort(folders.begin(), folders.end(), [](const stdfs::path& a, const stdfs::path& b) {
      std::error_code ea, eb;
      const bool la = stdfs::is_symlink(a, ea), lb = stdfs::is_symlink(b, eb);
      return la != lb ? !la : a < b;
    });
    for (const auto& folder : folders) {
      std::error_code probe;
      if (!exclude_.empty() && canonical(folder) == exclude_) {
        set_.output_skipped = true;
        continue;
      }
      if (folder.filename() == "masks" && stdfs::is_directory(dir / "images", probe)) {
        ++set_.mask_folders_skipped;
        continue;
      }
      // Kaggle's <id>/masks without <id>/images: the image is missing, the masks are not inputs.
      // Reading the item folder fails with that reason (io::read_raw_image).
      if (folder.filename() == "masks" && depth > 0 && looks_kaggle(dir.parent_path())) {
        ++set_.kaggle_items_without_images;
        add(dir);
        continue;
      }
      visit(folder, depth + 1);
    }
  }

  void add(const stdfs::path& path) {
    const auto rel = path.lexically_relative(root_);
    const bool in_images = !images_base_.empty() && !rel.empty() && *rel.begin() == "images";
    items_.push_back(item_at(path, (in_images ? path.lexically_relative(images_base_) : rel).generic_string()));
  }

  stdfs::path root_, images_base_;
  std::string exclude_;
  InputSet& set_;
  FolderLister list_;
  std::set<std::string> visited_;
  std::vector<InputItem> items_;
};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// The deepest folder all `paths` (absolute) share; empty for none.
stdfs::path common_folder(const std::vector<stdfs::path>& paths) {
  if (paths.empty()) return {};
  stdfs::path common = paths.front().parent_path();
  for (const auto& p : paths) {
    stdfs::path shared;
    auto a = common.begin();
    auto b = p.begin();
    for (; a != common.end() && b != p.end() && *a == *b; ++a, ++b) shared /= *a;
    common = shared;
  }
  return common;
}

std::vector<InputItem> read_list(const stdfs::path& list) {
  const std::string text = fs::read_file(list);
  // An image under a name without an image extension (a link, a .bmp) would be read as
  // thousands of "paths" that all fail; text lists hold no NUL bytes.
  if (text.find('\0') != std::string::npos)
    throw_config(kKey, list.string() + " is not a list of image paths (it holds binary data); an image must be named "
                                       ".png .tif .tiff .jpg or .jpeg");
  // Notepad and PowerShell start a UTF-8 file with a byte-order mark: not part of the first path.
  std::istringstream in(fs::without_utf8_bom(text));
  auto base = list.parent_path();
  std::vector<stdfs::path> paths;
  std::string line;
  // One file listed several ways (a.png, sub/../a.png, its absolute path, padded with spaces)
  // is one input: paths are made absolute and canonical (symbolic links resolved as far as
  // they exist) before the duplicates go.
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    stdfs::path p(line);
    p = p.is_relative() ? base / p : p;
    p = canonical_or_normal(p);
    if (seen.insert(p.string()).second) paths.push_back(p);
  }
  // Ids are relative to the deepest folder the listed files that exist share: a mistyped line
  // (a failure of its own) must not rename every other image. A missing file outside that
  // folder is named by its whole path.
  std::vector<stdfs::path> present;
  for (const auto& p : paths) {
    std::error_code ec;
    if (stdfs::exists(p, ec)) present.push_back(p);
  }
  const stdfs::path common = common_folder(present.empty() ? paths : present);
  std::vector<InputItem> items;
  for (const auto& p : paths) {  // a missing file stays in the list (item_at)
    const auto rel = common.empty() ? stdfs::path() : p.lexically_relative(common);
    const bool inside = !rel.empty() && *rel.begin() != "..";
    items.push_back(item_at(p, inside ? rel.generic_string() : p.relative_path().generic_string()));
  }
  return items;
}

}  // namespace

void assign_ids(std::vector<InputItem>& items) {
  std::vector<std::string> relatives;
  for (const auto& item : items) relatives.push_back(item.relative);
  auto ids = io::image_ids(relatives);
  for (size_t i = 0; i < items.size(); ++i) items[i].id = ids[i];
}

InputSet discover_inputs(const std::string& input, const std::string& output, const FolderLister& list_folder) {
  if (input.empty()) throw_config(kKey, "no input given (a folder, a Kaggle-layout folder, a list file or one image)");
  stdfs::path root(input);
  std::error_code ec;
  InputSet set;
  set.root = stdfs::absolute(root, ec).lexically_normal().string();
  if (stdfs::is_directory(root, ec)) {
    if (!output.empty() && stdfs::equivalent(root, output, ec))
      throw_config(kKey, "the input folder is the output folder (infer.output): " + input);
    FolderWalk walk(root, output, set, list_folder);
    set.items = walk.run();
    set.kind = walk.flat() ? "flat" : looks_kaggle(root) ? "kaggle" : "folder";
  } else if (stdfs::is_regular_file(root, ec) && io::has_image_extension(root)) {
    // One image: its own set, named by its file name (a list file would read its bytes as paths).
    set.kind = "file";
    set.items.push_back(item_at(set.root, root.filename().generic_string()));
  } else if (stdfs::is_regular_file(root, ec) && io::has_unread_image_extension(root)) {
    // Refused here: read as a list, a text header (.ics) would become one failed "path" per line.
    throw_config(kKey, input + " is in a format nucseg does not read: convert it to PNG or TIFF");
  } else if (stdfs::is_regular_file(root, ec)) {
    set.kind = "list";
    set.items = read_list(root);
  } else {
    // Under a folder that may not be searched it is unreadable, not missing (io::folder_problem);
    // a FIFO or a device is not read as a list (a FIFO would block).
    std::error_code sec;
    const auto type = stdfs::status(root, sec).type();
    auto problem = io::folder_problem(root, "input");
    if (!sec && type != stdfs::file_type::not_found) problem = "input is neither a folder nor a regular file";
    throw_config(kKey, problem + ": " + input);
  }
  if (set.items.empty()) {
    std::string unread;
    if (set.unread_formats.count)
      unread = "; it holds " + std::to_string(set.unread_formats.count) + " file(s) in formats nucseg does not read (" +
               set.unread_formats.names_text() + "): convert them to PNG or TIFF";
    throw_config(kKey, "no images (.png .tif .tiff .jpg .jpeg) found in " + input + unread);
  }
  std::sort(set.items.begin(), set.items.end(),
            [](const InputItem& a, const InputItem& b) { return a.relative < b.relative; });
  assign_ids(set.items);
  return set;
}

std::string serialize(const InputSet& set) {
  std::string out;
  put_field(out, set.root);
  put_field(out, set.kind);
  put_field(out, std::to_string(set.hidden_skipped));
  put_field(out, std::to_string(set.temporary_skipped));
  put_field(out, std::to_string(set.masks_skipped));
  put_field(out, std::to_string(set.mask_folders_skipped));
  put_field(out, std::to_string(set.links_skipped));
  put_field(out, std::to_string(set.broken_links));
  put_field(out, std::to_string(set.unlistable_folders));
  put_field(out, std::to_string(set.kaggle_items_without_images));
  set.not_regular.put(out);
  set.unread_formats.put(out);
  put_field(out, set.output_skipped ? "1" : "0");
  put_field(out, std::to_string(set.items.size()));
  for (const auto& item : set.items) {
    put_field(out, item.id);
    put_field(out, item.path);
    put_field(out, item.relative);
    put_field(out, std::to_string(item.bytes));
  }
  return out;
}

InputSet deserialize_inputs(const std::string& text) {
  InputSet set;
  size_t pos = 0;
  auto next = [&] { return take_field(text, pos, "input list"); };
  auto count = [&] { return take_count(text, pos, "input list"); };
  set.root = next();
  set.kind = next();
  set.hidden_skipped = count();
  set.temporary_skipped = count();
  set.masks_skipped = count();
  set.mask_folders_skipped = count();
  set.links_skipped = count();
  set.broken_links = count();
  set.unlistable_folders = count();
  set.kaggle_items_without_images = count();
  set.not_regular = io::NotRegularFiles::take(text, pos, "input list");
  set.unread_formats = io::NotRegularFiles::take(text, pos, "input list");
  set.output_skipped = next() == "1";
  size_t n = count();
  for (size_t i = 0; i < n; ++i) {
    InputItem item;
    item.id = next();
    item.path = next();
    item.relative = next();
    item.bytes = count();
    set.items.push_back(std::move(item));
  }
  return set;
}

}  // namespace nucseg::infer
