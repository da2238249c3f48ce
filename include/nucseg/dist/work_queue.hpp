// Dynamic distribution of work items over MPI ranks: a counter in an MPI window on rank 0,
// advanced with MPI_Fetch_and_op, so a rank takes the next item the moment it is free and a
// mix of small and huge images finishes evenly. No rank waits for another while taking items.
// The same window carries a job-wide stop: a rank that was signalled records it, and every rank
// sees it the next time it reads the counts, so all ranks stop within one item without a
// collective per item (ranks take items at different rates).
#pragma once

#include <optional>
#include <string>

#include <mpi.h>

#include "nucseg/dist/world.hpp"

namespace nucseg::dist {

class WorkQueue final {
 public:
  // Collective: every rank of `world` constructs it with the same `total`.
  WorkQueue(const World& world, long total);
  ~WorkQueue();  // collective (MPI_Win_free), except while an exception unwinds: then nothing is freed
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The next item index in [0, total), or nothing when all have been handed out.
  std::optional<long> next();
  long total() const { return total_; }

  // Job-wide completion counters (for rank 0's progress line): any rank adds what it finished.
  struct Counts {
    long handed_out = 0;
    long finished = 0;
    long processed = 0;  // finished minus skipped: images actually computed
    long pixels = 0;     // of the processed images
    bool stopped = false;  // some rank called request_stop
    int stop_signal = 0;   // the first recorded signal; may read 0 for a moment after `stopped` turns true
  };
  void add_finished(bool processed, long pixels);
  Counts counts();
  // Records a stop for every rank (call once per rank); the first rank to record one sets
  // stop_signal. No rank waits for another.
  void request_stop(int signal);

 private:
  long total_;
  long* counter_ = nullptr;  // on rank 0 only: the window's memory [next, finished, processed, pixels, stop]
  MPI_Win win_ = MPI_WIN_NULL;
};

// Summary line of per-rank busy time, built on rank 0 from every rank's numbers (collective).
// Returns "" on ranks other than 0.
std::string busy_time_report(const World& world, double busy_seconds, double wall_seconds, long items);

}  // namespace nucseg::dist
