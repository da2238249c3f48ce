#include "nucseg/infer/inputs.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <system_error>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fields.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/image_ids.hpp"
#include "nucseg/io/input_listing.hpp"

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
    p = io::canonical_or_normal(p);
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

// The folder tree's inputs (io::list_input_paths) into `set`, with what the walk left out; a
// root that cannot be walked is a config error of infer.input.
io::InputListing list_folder_tree(const stdfs::path& root, const std::string& output, const FolderLister& list,
                                  InputSet& set) {
  io::InputListing listing;
  try {
    listing = io::list_input_paths(root, output, list);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::data) throw;
    throw_config(kKey, e.message());
  }
  for (const auto& input : listing.inputs) set.items.push_back(item_at(input.path, input.relative));
  const auto& s = listing.stats;
  set.hidden_skipped = s.hidden;
  set.temporary_skipped = s.temporary;
  set.masks_skipped = s.paired_masks;
  set.mask_folders_skipped = s.mask_folders;
  set.links_skipped = s.links;
  set.broken_links = s.broken_links;
  set.unlistable_folders = s.unlistable_folders;
  set.kaggle_items_without_images = s.items_without_image;
  set.not_regular = s.not_regular;
  set.unread_formats = s.unread_formats;
  set.output_skipped = s.output_skipped;
  return listing;
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
    const auto listing = list_folder_tree(root, output, list_folder, set);
    set.kind = listing.flat ? "flat" : io::looks_kaggle(root) ? "kaggle" : "folder";
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
