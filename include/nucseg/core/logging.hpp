// Rank-aware logging on spdlog. job() speaks for the whole job and is silent on ranks other
// than 0; rank() may be used by every rank and stamps its rank on each line.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace nucseg::log {

// Sets up both loggers. `dir` non-empty: each rank also writes <dir>/rank-<r>.log.
void init(int rank, int size, const std::string& level, const std::string& dir = {});
void set_level(const std::string& level);

spdlog::logger& job();   // rank 0 only
spdlog::logger& rank();  // every rank, "[rank r]" in the line

// Progress of a long loop: logs "label: done/total (pct) rate unit/s, ETA" on rank 0 at
// most every `interval_seconds`, and once at finish().
class Progress final {
 public:
  Progress(std::string label, long total, double interval_seconds, std::string unit = "items");
  void update(long done, double extra_units = 0.0);  // cumulative count
  void finish();
  double elapsed_seconds() const;

 private:
  void report(bool final_line);
  std::string label_;
  std::string unit_;
  long total_;
  long done_ = 0;
  double interval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

std::string format_duration(double seconds);

}  // namespace nucseg::log
