// The output-folder lock: one holder at a time, stale locks taken over, live ones refused with
// the holder named; temporaries of a live writer are not stale.
#include "nucseg/core/lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::FolderLock;

stdfs::path fresh(const std::string& name) {
  auto dir = stdfs::temp_directory_path() / ("nucseg-lock-" + name + "-" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  return dir;
}

// The pid of a process that has exited (and been reaped): certainly not running.
long dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::string refusal(const stdfs::path& dir) {
  try {
    FolderLock second(dir, "nucseg_test", "infer.output");
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.exit_code(), nucseg::exit_codes::usage);
    EXPECT_EQ(e.context().key, "infer.output");
    return e.what();
  }
  return {};
}

void write_lock(const stdfs::path& dir, nucseg::LockOwner owner) {
  stdfs::create_directories(dir);
  std::ofstream(dir / nucseg::kLockFileName) << nucseg::format_lock(owner);
}

TEST(Lock, OneHolderAtATimeAndReleasedAtTheEnd) {
  auto dir = fresh("one");
  {
    FolderLock first(dir, "nucseg_test", "infer.output");
    ASSERT_TRUE(first.held());
    EXPECT_TRUE(stdfs::exists(dir / nucseg::kLockFileName));
    auto message = refusal(dir);  // this very process holds it: alive
    EXPECT_NE(message.find("in use by nucseg_test (pid " + std::to_string(::getpid())), std::string::npos) << message;
    EXPECT_NE(message.find(nucseg::host_name()), std::string::npos) << message;
  }
  EXPECT_FALSE(stdfs::exists(dir / nucseg::kLockFileName));
  FolderLock again(dir, "nucseg_test", "infer.output");
  EXPECT_TRUE(again.held());
  again.release();
  stdfs::remove_all(dir);
}

TEST(Lock, StaleLocksAreTakenOverLiveOnesRefused) {
  auto dir = fresh("stale");
  auto owner = nucseg::this_process_owner("nucseg_infer");
  owner.pid = dead_pid();  // killed with SIGKILL: the lock stayed
  write_lock(dir, owner);
  {
    FolderLock taken(dir, "nucseg_test", "infer.output");
    EXPECT_TRUE(taken.held());
    EXPECT_EQ(nucseg::parse_lock(nucseg::fs::read_file(dir / nucseg::kLockFileName)).pid, ::getpid());
  }
  // Another host: its pid cannot be checked from here, so the lock stands.
  owner.host = "elsewhere-" + nucseg::host_name();
  write_lock(dir, owner);
  auto message = refusal(dir);
  EXPECT_NE(message.find("elsewhere-"), std::string::npos) << message;
  EXPECT_NE(message.find("remove " + (dir / nucseg::kLockFileName).string()), std::string::npos) << message;
  // ... unless it is this Slurm job's own lock, left by the run before a requeue.
  owner.slurm_job = "4242";
  write_lock(dir, owner);
  ::setenv("SLURM_JOB_ID", "4242", 1);
  {
    FolderLock requeued(dir, "nucseg_test", "infer.output");
    EXPECT_TRUE(requeued.held());
  }
  ::unsetenv("SLURM_JOB_ID");
  stdfs::remove_all(dir);
}

// A child that has exited but was not reaped yet is a zombie: not running.
TEST(Lock, ZombiesAreNotAlive) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  siginfo_t info{};  // until it has exited, left unreaped (WNOWAIT): however late it runs
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  std::string stat = nucseg::fs::read_file("/proc/" + std::to_string(child) + "/stat");
  ASSERT_EQ(stat[stat.rfind(')') + 2], 'Z') << stat;
  EXPECT_FALSE(nucseg::process_alive(child));
  EXPECT_TRUE(nucseg::process_alive(::getpid()));
  ::waitpid(child, nullptr, 0);
}

TEST(Lock, OnlyTemporariesOfDeadWritersAreStale) {
  const auto live = "/x/img.h5.tmp-" + std::to_string(::getpid());
  const auto dead = "/x/img.h5.tmp-" + std::to_string(dead_pid());
  EXPECT_FALSE(nucseg::is_stale_temporary(live));
  EXPECT_TRUE(nucseg::is_stale_temporary(dead));
  EXPECT_FALSE(nucseg::is_stale_temporary("/x/img.h5"));
  EXPECT_TRUE(nucseg::is_stale_temporary("/x/img01.tmp-old-" + std::to_string(dead_pid())));
}

}  // namespace
