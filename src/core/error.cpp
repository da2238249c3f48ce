#include "nucseg/core/error.hpp"

#include <atomic>

namespace nucseg {
namespace {
std::atomic<int> g_error_rank{-1};

std::string render(const std::string& message, const ErrorContext& c) {
  std::string out = message;
  std::string where;
  if (!c.key.empty()) where += "key '" + c.key + "'";
  if (!c.file.empty()) where += (where.empty() ? "" : ", ") + std::string("file '") + c.file + "'";
  if (c.rank >= 0) where += (where.empty() ? "" : ", ") + std::string("rank ") + std::to_string(c.rank);
  if (!where.empty()) out += " [" + where + "]";
  return out;
}

ErrorContext with_rank(ErrorContext c) {
  if (c.rank < 0) c.rank = g_error_rank.load();
  return c;
}
}  // namespace

Error::Error(ErrorKind kind, const std::string& message, ErrorContext context)
    : std::runtime_error(render(message, with_rank(context))),
      kind_(kind),
      message_(message),
      context_(with_rank(std::move(context))) {}

int Error::exit_code() const noexcept {
  switch (kind_) {
    case ErrorKind::usage:
    case ErrorKind::config: return exit_codes::usage;
    case ErrorKind::data:
    case ErrorKind::runtime: return exit_codes::failure;
  }
  return exit_codes::failure;
}

void throw_config(const std::string& key, const std::string& message) {
  throw Error(ErrorKind::config, message, {"", key, -1});
}
void throw_data(const std::string& file, const std::string& message) {
  throw Error(ErrorKind::data, message, {file, "", -1});
}
void throw_runtime(const std::string& message, const std::string& file) {
  throw Error(ErrorKind::runtime, message, {file, "", -1});
}
void throw_usage(const std::string& message) { throw Error(ErrorKind::usage, message); }

void set_error_rank(int rank) { g_error_rank.store(rank); }

}  // namespace nucseg
