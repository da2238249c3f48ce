#include "nucseg/core/logging.hpp"

#include <filesystem>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "nucseg/core/error.hpp"

namespace nucseg::log {
namespace {

std::shared_ptr<spdlog::logger> g_job;
std::shared_ptr<spdlog::logger> g_rank;
int g_this_rank = 0;
std::mutex g_mutex;

spdlog::level::level_enum parse_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw_config("log.level", "unknown log level '" + level + "' (allowed: trace, debug, info, warn, error, off)");
  return parsed;
}

void ensure_default() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_job) return;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  g_job = std::make_shared<spdlog::logger>("job", sink);
  g_rank = std::make_shared<spdlog::logger>("rank", sink);
  g_job->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  g_rank->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [rank 0] %v");
}

}  // namespace

void init(int rank, int size, const std::string& level, const std::string& dir) {
  auto lvl = parse_level(level);
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw_runtime("cannot create log folder: " + ec.message(), dir);
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(
        (std::filesystem::path(dir) / ("rank-" + std::to_string(rank) + ".log")).string()));
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_this_rank = rank;
  g_job = std::make_shared<spdlog::logger>("job", sinks.begin(), sinks.end());
  g_rank = std::make_shared<spdlog::logger>("rank", sinks.begin(), sinks.end());
  std::string rank_tag = size > 1 ? "[rank " + std::to_string(rank) + "/" + std::to_string(size) + "] " : "";
  g_job->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  g_rank->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + rank_tag + "%v");
  g_job->set_level(rank == 0 ? lvl : spdlog::level::off);
  g_rank->set_level(lvl);
  g_job->flush_on(spdlog::level::warn);
  g_rank->flush_on(spdlog::level::warn);
}

void set_level(const std::string& level) {
  ensure_default();
  auto lvl = parse_level(level);
  if (g_this_rank == 0) g_job->set_level(lvl);
  g_rank->set_level(lvl);
}

spdlog::logger& job() {
  ensure_default();
  return *g_job;
}

spdlog::logger& rank() {
  ensure_default();
  return *g_rank;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", s / 3600, (s / 60) % 60, s % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

Progress::Progress(std::string label, long total, double interval_seconds, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      interval_(interval_seconds),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(long done, double) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() >= interval_) {
    last_ = now;
    report(false);
  }
}

void Progress::finish() { report(true); }

void Progress::report(bool final_line) {
  double elapsed = elapsed_seconds();
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  if (final_line) {
    job().info("{}: {} {} in {} ({:.2f} {}/s)", label_, done_, unit_, format_duration(elapsed), rate, unit_);
    return;
  }
  double pct = total_ > 0 ? 100.0 * done_ / total_ : 0.0;
  double eta = rate > 0 && total_ > 0 ? (total_ - done_) / rate : -1;
  job().info("{}: {}/{} ({:.1f}%) {:.2f} {}/s, ETA {}", label_, done_, total_, pct, rate, unit_,
             format_duration(eta));
}

}  // namespace nucseg::log
