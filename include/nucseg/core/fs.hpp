// Filesystem helpers: checked, atomic, and safe against names that escape a folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nucseg::fs {

namespace stdfs = std::filesystem;

void create_directories(const stdfs::path& dir);  // throws Error(runtime) with the path

// Writes `bytes` to `path` atomically: <path>.tmp-<pid>, fsync, rename over `path`.
void write_file_atomic(const stdfs::path& path, const std::string& bytes);
std::string read_file(const stdfs::path& path);  // throws Error(data) with the path

// A temporary sibling name for `path` (same folder, so rename() is atomic): <name>.tmp-<pid>.
stdfs::path temporary_sibling(const stdfs::path& path);
// True for the tools' own temporaries only, which readers skip: <name>.tmp-<digits> and
// <name>.tmp-old-<digits>. An input that merely contains ".tmp-" ("scan.tmp-1.png") is not one.
bool is_temporary_name(const stdfs::path& path);

// Renames `from` over `to` after fsync of the file and its folder; throws on failure.
void commit_rename(const stdfs::path& from, const stdfs::path& to);

// Turns an arbitrary string (an image id, a relative path) into one safe file name:
// path separators and odd characters become '_', and "." / ".." can never result.
std::string safe_component(const std::string& text);

// 64-bit FNV-1a of a byte range, as hex; stable across platforms (used for checksums and ids).
std::string fnv1a_hex(const void* data, size_t size);
uint64_t fnv1a(const void* data, size_t size, uint64_t seed = 1469598103934665603ULL);
std::string file_checksum(const stdfs::path& path);  // fnv1a_hex of the file's bytes

}  // namespace nucseg::fs
