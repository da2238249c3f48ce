// The pieces every input walk shares (pack's and eval's dataset listing, infer's folder walk):
// listing one folder through a seam tests can fail, saying why a folder cannot be read, and
// counting image-named entries that are not files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace nucseg::io {

// Names every walk leaves out: hidden ones (".git", ".DS_Store", editor droppings, and macOS's
// __MACOSX folder of resource forks an unpacked zip leaves beside the data), and the tools'
// own temporaries (fs::is_temporary_name). Callers count each kind.
enum class SkippedName { none, hidden, temporary };
SkippedName skipped_name(const std::filesystem::path& p);

// Lists one folder: all its entries, or the system's error in `ec`. Walks take one so tests
// can inject EACCES: as root (containers, CI) every folder is readable.
using FolderLister =
    std::function<std::vector<std::filesystem::directory_entry>(const std::filesystem::path& dir, std::error_code& ec)>;
// The real lister: std::filesystem::directory_iterator, every entry.
std::vector<std::filesystem::directory_entry> list_folder(const std::filesystem::path& dir, std::error_code& ec);

// Why `dir` cannot be listed as a folder, `noun` its name in the message: "<noun> does not
// exist", "<noun> cannot be read (Permission denied)" (a folder above it that may not be
// searched, an I/O error: not "missing"), "<noun> is not a folder" ("not a folder" for the
// default noun); empty when it is a folder.
std::string folder_problem(const std::filesystem::path& dir, const std::string& noun = "folder");
// "<noun> cannot be read (<the system's reason>)": the one wording of an entry that exists, or
// may exist, but that the system would not read or list.
std::string cannot_read(const std::string& noun, const std::error_code& ec);

// Entries with an image name that are not regular files (a FIFO, a socket, a device or a link to
// one): never opened, since opening a FIFO blocks until some writer comes, but counted and the
// first few named so the log says what was left out. Its count, names, names_text() and
// put()/take() are generic: infer's listing also keeps its files of unread formats in one.
struct NotRegularFiles {
  static constexpr size_t kNamed = 3;
  size_t count = 0;
  std::vector<std::string> names;  // the first kNamed given to add()

  void add(const std::string& name);
  // "2 entries that are not regular files: pipe.png, zero.png" (", ... (N more)" past kNamed);
  // empty when there are none.
  std::string text() const;
  // The names alone: "a.bmp, b.czi" (", ... (N more)" past kNamed).
  std::string names_text() const;
  // As fields (core/fields.hpp) in rank 0's broadcast listing; take() reads what put() wrote.
  void put(std::string& out) const;
  static NotRegularFiles take(const std::string& in, size_t& pos, const char* what);
};

}  // namespace nucseg::io
