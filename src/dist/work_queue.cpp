#include "nucseg/dist/work_queue.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

namespace nucseg::dist {
namespace {
constexpr int kSlots = 5;
constexpr int kStopSlot = 4;
// The stop word: (ranks that asked to stop) << 16 | the first one's signal. Only fetch-and-add
// on it (no compare-and-swap: Open MPI 4.1's emulated one crashed in tile_sharing.cpp).
constexpr int kStopShift = 16;
}  // namespace

WorkQueue::WorkQueue(const World& world, long total) : total_(total) {
  MPI_Aint bytes = world.rank() == 0 ? static_cast<MPI_Aint>(kSlots * sizeof(long)) : 0;
  NUCSEG_MPI_CHECK(MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, world.comm(), &counter_, &win_));
  if (world.rank() == 0) {
    // Initialise under an exclusive lock so the value is visible to other ranks' atomics.
    NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_));
    std::fill(counter_, counter_ + kSlots, 0L);
    NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  }
  world.barrier();  // nobody fetches before the counter is set
}

WorkQueue::~WorkQueue() {
  // MPI_Win_free is collective: while an exception unwinds this rank (the others still at work
  // or in a barrier) it would wait forever. The window is left to the abort that follows
  // (cli::run_tool ends the whole job on an escaping error).
  if (std::uncaught_exceptions() > 0) return;
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);  // not checked: destructors must not throw
}

std::optional<long> WorkQueue::next() {
  long one = 1, previous = 0;
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Fetch_and_op(&one, &previous, MPI_LONG, 0, 0, MPI_SUM, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  if (previous >= total_) return std::nullopt;
  return previous;
}

void WorkQueue::add_finished(bool processed, long pixels) {
  long add[3] = {1, processed ? 1 : 0, processed ? pixels : 0};
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Accumulate(add, 3, MPI_LONG, 0, 1, 3, MPI_LONG, MPI_SUM, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
}

WorkQueue::Counts WorkQueue::counts() {
  long values[kSlots] = {0, 0, 0, 0, 0};
  // An atomic read: accumulate-family calls with MPI_NO_OP see whole values.
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Get_accumulate(nullptr, 0, MPI_LONG, values, kSlots, MPI_LONG, 0, 0, kSlots, MPI_LONG,
                                      MPI_NO_OP, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  Counts c;
  c.handed_out = std::min(values[0], total_);
  c.finished = values[1];
  c.processed = values[2];
  c.pixels = values[3];
  c.stopped = values[kStopSlot] != 0;
  c.stop_signal = static_cast<int>(values[kStopSlot] & ((1L << kStopShift) - 1));
  return c;
}

void WorkQueue::request_stop(int signal) {
  long one = 1L << kStopShift, previous = 0;
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Fetch_and_op(&one, &previous, MPI_LONG, 0, kStopSlot, MPI_SUM, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  if (previous != 0) return;  // another rank was first: its signal stands
  long sig = signal & ((1L << kStopShift) - 1);
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Accumulate(&sig, 1, MPI_LONG, 0, kStopSlot, 1, MPI_LONG, MPI_SUM, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
}

std::string busy_time_report(const World& world, double busy_seconds, double wall_seconds, long items) {
  char line[160];
  std::snprintf(line, sizeof line, "rank %d: %ld images, busy %.1f s of %.1f s (%.0f%%)", world.rank(), items,
                busy_seconds, wall_seconds, wall_seconds > 0 ? 100.0 * busy_seconds / wall_seconds : 0.0);
  auto lines = world.gather_strings(line);
  if (world.rank() != 0) return {};
  std::ostringstream out;
  for (size_t i = 0; i < lines.size(); ++i) out << (i ? "\n" : "") << lines[i];
  return out.str();
}

}  // namespace nucseg::dist
