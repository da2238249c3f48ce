// Filesystem helpers: checked, atomic, and safe against names that escape a folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nucseg::fs {

namespace stdfs = std::filesystem;

void create_directories(const stdfs::path& dir);  // throws Error(runtime) with the path

// Writes `bytes` to `path` atomically: <path>.tmp-<pid>, fsync, rename over `path`. Error(runtime)
// with the system's reason ("No space left on device") when a write fails; the temporary goes.
void write_file_atomic(const stdfs::path& path, const std::string& bytes);
std::string read_file(const stdfs::path& path);  // throws Error(data) with the path
// `text` without a leading UTF-8 byte-order mark (Notepad, PowerShell and Excel write one).
std::string without_utf8_bom(const std::string& text);

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

// 64-bit FNV-1a (Fowler-Noll-Vo, prime 1099511628211) of a byte range; stable across platforms.
// kFnvOffsetBasis is the standard offset basis: fnv1a("") == 0xcbf29ce484222325 and
// fnv1a("a") == 0xaf63dc4c8601ec8c, as published. Checksums use it.
inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
// nucseg 0.1 used this basis everywhere (the standard one with its last digit lost). Image ids
// and the train/val split still hash with it, so that ids and splits of existing data do not
// move; old index.h5 files (no checksum_algorithm attribute) are verified with it.
inline constexpr uint64_t kLegacyFnvBasis = 1469598103934665603ULL;

uint64_t fnv1a(const void* data, size_t size, uint64_t seed = kFnvOffsetBasis);
std::string fnv1a_hex(const void* data, size_t size, uint64_t seed = kFnvOffsetBasis);  // 16 hex digits
std::string to_hex(uint64_t value);  // 16 lower-case hex digits
// A file's size and modification time as one stat() gives them (links followed): what pack and
// infer compare to tell that a source was edited in place without hashing every image.
struct FileStat {
  int64_t bytes = -1;     // -1: unknown
  int64_t mtime_ns = -1;  // nanoseconds since the Unix epoch; -1: unknown
};
// False (and the system's reason in `reason` when given) when the file cannot be stat'ed.
bool stat_file(const stdfs::path& path, FileStat* out, std::string* reason = nullptr);

// FNV-1a of the file's bytes, 16 hex digits. Error(data) naming the file when unreadable.
std::string file_checksum(const stdfs::path& path, uint64_t basis = kFnvOffsetBasis);

}  // namespace nucseg::fs
