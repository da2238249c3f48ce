// An exclusive lock on an output folder, so two runs never write into one folder at once
// (their temporaries and results would mix). The lock is a file, <folder>/.nucseg.lock, created
// with O_EXCL (atomic on local disks, NFS v3+ and Lustre); it holds the owner's host, pid, tool,
// Slurm job id and start time, one "key=value" per line. It is removed when the run ends; a run
// killed with SIGKILL leaves it behind, and the next run takes over a *stale* lock:
//   - same host and the pid is no longer running, or
//   - the same Slurm job id (a requeued job restarting, possibly on another node).
// (A zombie counts as gone.) A lock held by a live process of this host is given 5 s to go (a
// rank of a job that is being aborted this moment); a lock held by a live process, or by another
// host outside that job, is then refused with an Error(config) naming `key` (exit 2) that says
// who holds it and how to remove it.
#pragma once

#include <filesystem>
#include <string>

namespace nucseg {

struct LockOwner {
  std::string host;
  long pid = 0;
  std::string tool;
  std::string slurm_job;  // "" outside Slurm
  std::string started;    // UTC ISO 8601
};

class FolderLock final {
 public:
  FolderLock() = default;  // holds nothing
  // Creates `folder` when missing and takes its lock, or throws (see above).
  FolderLock(const std::filesystem::path& folder, const std::string& tool, const std::string& key);
  ~FolderLock();  // removes the lock file if it is still this process's
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  bool held() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }
  void release();

 private:
  std::filesystem::path path_;
  std::string content_;
};

inline constexpr const char* kLockFileName = ".nucseg.lock";

LockOwner this_process_owner(const std::string& tool);
std::string format_lock(const LockOwner& owner);
LockOwner parse_lock(const std::string& text);  // missing fields stay empty / 0
// A process with this pid runs on this host (kill(pid, 0) does not say ESRCH).
bool process_alive(long pid);
std::string host_name();

// True for one of the tools' temporaries (fs::is_temporary_name) whose writing process no
// longer runs on this host: what a run may delete once it holds its folder's lock.
bool is_stale_temporary(const std::filesystem::path& path);

}  // namespace nucseg
