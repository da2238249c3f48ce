#include "nucseg/infer/inputs.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <system_error>

#include "nucseg/core/error.hpp"
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

std::vector<InputItem> walk_folder(const stdfs::path& root, InputSet& set) {
  std::vector<InputItem> items;
  std::error_code ec;
  stdfs::recursive_directory_iterator it(root, stdfs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw_config(kKey, "cannot list " + root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw_config(kKey, "cannot list " + root.string() + ": " + ec.message());
    const auto& entry = *it;
    if (skipped_name(entry.path(), set)) {
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(ec) || !io::has_image_extension(entry.path())) continue;
    if (io::is_paired_mask(entry.path())) {  // x_masks.png beside x.png: an annotation, not an input
      ++set.masks_skipped;
      continue;
    }
    items.push_back(item_at(entry.path(), entry.path().lexically_relative(root).generic_string()));
  }
  return items;
}

// A Kaggle-layout folder: some child <id> holds images/<id>.<image extension>.
bool looks_kaggle(const stdfs::path& root) {
  std::error_code ec;
  for (const auto& child : stdfs::directory_iterator(root, ec)) {
    if (!child.is_directory(ec)) continue;
    auto id = child.path().filename().string();
    for (const char* ext : {".png", ".tif", ".tiff", ".jpg", ".jpeg"}) {
      if (stdfs::is_regular_file(child.path() / "images" / (id + ext), ec)) return true;
    }
  }
  return false;
}

std::vector<InputItem> walk_kaggle(const stdfs::path& root, InputSet& set) {
  std::vector<InputItem> items;
  // One error code for the listing and a fresh one for each probe: a probe that fails (a plain
  // file such as manifest.csv has no images/ below it) must not read as a listing error.
  std::error_code list_ec;
  for (stdfs::directory_iterator it(root, list_ec), end; !list_ec && it != end; it.increment(list_ec)) {
    auto images = it->path() / "images";
    std::error_code probe;
    if (skipped_name(it->path(), set) || !stdfs::is_directory(images, probe)) continue;
    std::error_code inner_ec;
    for (stdfs::directory_iterator f(images, inner_ec), fend; !inner_ec && f != fend; f.increment(inner_ec)) {
      std::error_code kind;
      if (skipped_name(f->path(), set) || !f->is_regular_file(kind) || !io::has_image_extension(f->path())) continue;
      items.push_back(item_at(f->path(), f->path().lexically_relative(root).generic_string()));
    }
    if (inner_ec) throw_config(kKey, "cannot list " + images.string() + ": " + inner_ec.message());
  }
  if (list_ec) throw_config(kKey, "cannot list " + root.string() + ": " + list_ec.message());
  return items;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::vector<InputItem> read_list(const stdfs::path& list) {
  const std::string text = fs::read_file(list);
  // An image under a name without an image extension (a link, a .bmp) would be read as
  // thousands of "paths" that all fail; text lists hold no NUL bytes.
  if (text.find('\0') != std::string::npos)
    throw_config(kKey, list.string() + " is not a list of image paths (it holds binary data); an image must be named "
                                       ".png .tif .tiff .jpg or .jpeg");
  std::istringstream in(text);
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
    std::error_code ec;
    auto canonical = stdfs::weakly_canonical(stdfs::absolute(p, ec), ec);
    p = ec ? stdfs::absolute(p).lexically_normal() : canonical;
    if (seen.insert(p.string()).second) paths.push_back(p);
  }
  // Ids are relative to the deepest folder all listed files share.
  stdfs::path common;
  if (!paths.empty()) {
    common = paths.front().parent_path();
    for (const auto& p : paths) {
      stdfs::path shared;
      auto a = common.begin();
      auto b = p.begin();
      for (; a != common.end() && b != p.end() && *a == *b; ++a, ++b) shared /= *a;
      common = shared;
    }
  }
  std::vector<InputItem> items;
  for (const auto& p : paths)  // a missing file stays in the list (item_at)
    items.push_back(item_at(p, common.empty() ? p.generic_string() : p.lexically_relative(common).generic_string()));
  return items;
}

void put(std::string& out, const std::string& s) { out += std::to_string(s.size()) + ":" + s; }

std::string take(const std::string& in, size_t& pos) {
  size_t colon = in.find(':', pos);
  if (colon == std::string::npos) throw_runtime("corrupt serialised input list");
  size_t n = std::stoull(in.substr(pos, colon - pos));
  if (colon + 1 + n > in.size()) throw_runtime("corrupt serialised input list");
  std::string s = in.substr(colon + 1, n);
  pos = colon + 1 + n;
  return s;
}

}  // namespace

void assign_ids(std::vector<InputItem>& items) {
  std::vector<std::string> relatives;
  for (const auto& item : items) relatives.push_back(item.relative);
  auto ids = io::image_ids(relatives);
  for (size_t i = 0; i < items.size(); ++i) items[i].id = ids[i];
}

InputSet discover_inputs(const std::string& input) {
  if (input.empty()) throw_config(kKey, "no input given (a folder, a Kaggle-layout folder, a list file or one image)");
  stdfs::path root(input);
  std::error_code ec;
  InputSet set;
  set.root = stdfs::absolute(root, ec).lexically_normal().string();
  if (stdfs::is_directory(root, ec)) {
    set.kind = looks_kaggle(root) ? "kaggle" : "folder";
    set.items = set.kind == "kaggle" ? walk_kaggle(root, set) : walk_folder(root, set);
  } else if (stdfs::is_regular_file(root, ec) && io::has_image_extension(root)) {
    // One image: its own set, named by its file name (a list file would read its bytes as paths).
    set.kind = "file";
    set.items.push_back(item_at(set.root, root.filename().generic_string()));
  } else if (stdfs::is_regular_file(root, ec)) {
    set.kind = "list";
    set.items = read_list(root);
  } else {
    throw_config(kKey, "input does not exist: " + input);
  }
  if (set.items.empty()) throw_config(kKey, "no images (.png .tif .tiff .jpg .jpeg) found in " + input);
  std::sort(set.items.begin(), set.items.end(),
            [](const InputItem& a, const InputItem& b) { return a.relative < b.relative; });
  assign_ids(set.items);
  return set;
}

std::string serialize(const InputSet& set) {
  std::string out;
  put(out, set.root);
  put(out, set.kind);
  put(out, std::to_string(set.hidden_skipped));
  put(out, std::to_string(set.temporary_skipped));
  put(out, std::to_string(set.masks_skipped));
  put(out, std::to_string(set.items.size()));
  for (const auto& item : set.items) {
    put(out, item.id);
    put(out, item.path);
    put(out, item.relative);
    put(out, std::to_string(item.bytes));
  }
  return out;
}

InputSet deserialize_inputs(const std::string& text) {
  InputSet set;
  size_t pos = 0;
  set.root = take(text, pos);
  set.kind = take(text, pos);
  set.hidden_skipped = std::stoull(take(text, pos));
  set.temporary_skipped = std::stoull(take(text, pos));
  set.masks_skipped = std::stoull(take(text, pos));
  size_t n = std::stoull(take(text, pos));
  for (size_t i = 0; i < n; ++i) {
    InputItem item;
    item.id = take(text, pos);
    item.path = take(text, pos);
    item.relative = take(text, pos);
    item.bytes = std::stoull(take(text, pos));
    set.items.push_back(std::move(item));
  }
  return set;
}

}  // namespace nucseg::infer
