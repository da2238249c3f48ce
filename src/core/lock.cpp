#include "nucseg/core/lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "nucseg/core/clock.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg {
namespace stdfs = std::filesystem;
namespace {


std::string read_or_empty(const stdfs::path& p) {
  try {
    return fs::read_file(p);
  } catch (const Error&) {
    return {};
  }
}

// Creates the lock file with O_EXCL; false when it exists already.
bool create_exclusive(const stdfs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw_runtime(std::string("cannot create lock file: ") + std::strerror(errno), path.string());
  }
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw_runtime(std::string("cannot write lock file: ") + std::strerror(err), path.string());
  }
  return true;
}

// Why `owner`'s lock may be taken over, or "" when it may not.
std::string stale_reason(const LockOwner& owner, const LockOwner& me) {
  if (owner.host == me.host && owner.pid > 0 && !process_alive(owner.pid))
    return "its process " + std::to_string(owner.pid) + " no longer runs";
  if (!owner.slurm_job.empty() && owner.slurm_job == me.slurm_job && !(owner.host == me.host && process_alive(owner.pid)))
    return "it is this Slurm job's own (job " + owner.slurm_job + ", requeued)";
  return {};
}

std::string describe(const LockOwner& o) {
  std::string s = o.tool.empty() ? std::string("a run") : o.tool;
  s += " (pid " + std::to_string(o.pid) + " on " + (o.host.empty() ? std::string("?") : o.host);
  if (!o.slurm_job.empty()) s += ", Slurm job " + o.slurm_job;
  if (!o.started.empty()) s += ", started " + o.started;
  return s + ")";
}

}  // namespace

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool process_alive(long pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  // A zombie answers kill(pid, 0) too: a rank killed by MPI_Abort whose parent (mpirun) exited
  // first can stay one for as long as nobody reaps it (a container's PID 1 may never do so).
  const std::string stat = read_or_empty("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren != std::string::npos && paren + 2 < stat.size()) {
    const char state = stat[paren + 2];
    if (state == 'Z' || state == 'X') return false;
  }
  return true;
}

LockOwner this_process_owner(const std::string& tool) {
  LockOwner o;
  o.host = host_name();
  o.pid = static_cast<long>(::getpid());
  o.tool = tool;
  if (const char* job = std::getenv("SLURM_JOB_ID")) o.slurm_job = job;
  o.started = utc_timestamp();
  return o;
}

std::string format_lock(const LockOwner& o) {
  return "host=" + o.host + "\npid=" + std::to_string(o.pid) + "\ntool=" + o.tool + "\nslurm_job=" + o.slurm_job +
         "\nstarted=" + o.started + "\n";
}

LockOwner parse_lock(const std::string& text) {
  LockOwner o;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host") o.host = value;
    else if (key == "pid") o.pid = std::strtol(value.c_str(), nullptr, 10);
    else if (key == "tool") o.tool = value;
    else if (key == "slurm_job") o.slurm_job = value;
    else if (key == "started") o.started = value;
  }
  return o;
}

bool is_stale_temporary(const stdfs::path& path) {
  if (!fs::is_temporary_name(path)) return false;
  const auto name = path.filename().string();
  const long pid = std::strtol(name.c_str() + name.find_last_of('-') + 1, nullptr, 10);
  return !process_alive(pid);
}

FolderLock::FolderLock(const stdfs::path& folder, const std::string& tool, const std::string& key) {
  fs::create_directories(folder);
  const auto path = folder / kLockFileName;
  const LockOwner me = this_process_owner(tool);
  const std::string content = format_lock(me);
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (create_exclusive(path, content)) {
      path_ = path;
      content_ = content;
      return;
    }
    const std::string text = read_or_empty(path);
    const LockOwner owner = parse_lock(text);
    if (owner.pid == 0) {
      // Being written this very moment (or emptied by a crash right after its creation).
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (attempt < 19) continue;
    }
    std::string why = owner.pid == 0 ? "it is empty" : stale_reason(owner, me);
    // A holder on this host may be a rank of a job that is ending this moment (killed by
    // MPI_Abort a moment after its launcher returned): give it a few seconds to go.
    for (int wait = 0; why.empty() && owner.host == me.host && owner.pid != me.pid && wait < 50; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (read_or_empty(path) != text) break;  // released or replaced: look again
      why = stale_reason(owner, me);
    }
    if (read_or_empty(path) != text) continue;
    if (why.empty())
      throw_config(key, "output folder " + folder.string() + " is in use by " + describe(owner) +
                            ": two runs must not write into one folder. Wait for it, use another folder, or, if that "
                            "run is certainly gone, remove " + path.string());
    // Move the stale lock aside, then check that what moved is the lock judged stale (another
    // starter may have replaced it meanwhile: then put it back and look again).
    auto aside = folder / (std::string(kLockFileName) + ".stale-" + std::to_string(me.pid));
    if (std::rename(path.c_str(), aside.c_str()) != 0) continue;  // someone else moved it first
    if (read_or_empty(aside) != text) {
      std::error_code ec;
      if (!stdfs::exists(path, ec)) std::rename(aside.c_str(), path.c_str());
      continue;
    }
    std::error_code ec;
    stdfs::remove(aside, ec);
    log::rank().warn("taking over the lock of {} on {}: {}", describe(owner), folder.string(), why);
  }
  throw_runtime("cannot take the lock of " + folder.string() + " (contended)", path.string());
}

FolderLock::~FolderLock() { release(); }

FolderLock::FolderLock(FolderLock&& other) noexcept
    : path_(std::exchange(other.path_, {})), content_(std::exchange(other.content_, {})) {}

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::exchange(other.path_, {});
    content_ = std::exchange(other.content_, {});
  }
  return *this;
}

void FolderLock::release() {
  if (path_.empty()) return;
  // Only our own: a lock taken over by a requeued incarnation of this job stays.
  if (read_or_empty(path_) == content_) ::unlink(path_.c_str());
  path_.clear();
  content_.clear();
}

}  // namespace nucseg
