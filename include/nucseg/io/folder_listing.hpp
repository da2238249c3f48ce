// The pieces every input walk shares (pack's and eval's dataset listing, infer's folder walk):
// listing one folder through a seam tests can fail, and saying why a folder cannot be read.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace nucseg::io {

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

}  // namespace nucseg::io
