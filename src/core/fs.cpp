#include "nucseg/core/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nucseg/core/error.hpp"

namespace nucseg::fs {
namespace {

void fsync_path(const stdfs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw_runtime(std::string("cannot open for fsync: ") + std::strerror(errno), path.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some filesystems refuse fsync on directories; the rename is still atomic there.
  if (rc != 0 && !(directory && (err == EINVAL || err == EBADF)))
    throw_runtime(std::string("fsync failed: ") + std::strerror(err), path.string());
}

}  // namespace

void create_directories(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) throw_runtime("cannot create folder: " + ec.message(), dir.string());
}

stdfs::path temporary_sibling(const stdfs::path& path) {
  return path.parent_path() / (path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

bool is_temporary_name(const stdfs::path& path) {
  // <name>.tmp-<pid> (temporary_sibling) or <name>.tmp-old-<pid> (the synth writer's swap).
  const std::string name = path.filename().string();
  auto at = name.rfind(".tmp-");
  if (at == std::string::npos || at == 0) return false;
  size_t digits = at + 5;
  if (name.compare(digits, 4, "old-") == 0) digits += 4;
  return digits < name.size() &&
         std::all_of(name.begin() + static_cast<long>(digits), name.end(), [](unsigned char c) { return std::isdigit(c); });
}

void commit_rename(const stdfs::path& from, const stdfs::path& to) {
  fsync_path(from, false);
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw_runtime(std::string("cannot rename ") + from.string() + ": " + std::strerror(errno), to.string());
  auto parent = to.parent_path();
  fsync_path(parent.empty() ? stdfs::path(".") : parent, true);
}

void write_file_atomic(const stdfs::path& path, const std::string& bytes) {
  auto tmp = temporary_sibling(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_runtime(std::string("cannot create file: ") + std::strerror(errno), tmp.string());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      std::error_code ec;
      stdfs::remove(tmp, ec);
      throw_runtime(std::string("cannot write file: ") + std::strerror(err), tmp.string());
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    int err = errno;
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw_runtime(std::string("cannot write file: ") + std::strerror(err), tmp.string());
  }
  try {
    commit_rename(tmp, path);
  } catch (...) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw;
  }
}

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_data(path.string(), std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw_data(path.string(), "cannot read file");
  return buffer.str();
}

std::string safe_component(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool ok = std::isalnum(c) || c == '-' || c == '_' || c == '.';
    out.push_back(ok ? static_cast<char>(c) : '_');
  }
  // Leading dots would make ".", ".." or hidden files.
  for (auto& c : out) {
    if (c != '.') break;
    c = '_';
  }
  if (out.empty()) out = "_";
  return out;
}

uint64_t fnv1a(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

std::string to_hex(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string fnv1a_hex(const void* data, size_t size, uint64_t seed) { return to_hex(fnv1a(data, size, seed)); }

std::string file_checksum(const stdfs::path& path, uint64_t basis) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_data(path.string(), std::string("cannot open file: ") + std::strerror(errno));
  uint64_t h = basis;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a(buf.data(), static_cast<size_t>(in.gcount()), h);
  }
  if (in.bad()) throw_data(path.string(), "cannot read file");
  return to_hex(h);
}

bool stat_file(const stdfs::path& path, FileStat* out, std::string* reason) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (reason) *reason = std::strerror(errno);
    return false;
  }
  out->bytes = static_cast<int64_t>(st.st_size);
  out->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec);
  return true;
}

std::string without_utf8_bom(const std::string& text) {
  return text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? text.substr(3) : text;
}

}  // namespace nucseg::fs
