// The one exception type of nucseg: a message plus the context a user needs to act on it.
#pragma once

#include <stdexcept>
#include <string>

namespace nucseg {

// What went wrong decides the exit code of a tool (see exit_code()).
enum class ErrorKind {
  usage,    // bad command line                      -> exit 2
  config,   // invalid configuration key or value    -> exit 2
  data,     // unreadable or invalid input data      -> exit 1
  runtime,  // I/O, MPI, library failures            -> exit 1
};

// Exit codes shared by every tool; docs/cli.md documents them.
namespace exit_codes {
inline constexpr int ok = 0;
inline constexpr int failure = 1;
inline constexpr int usage = 2;
inline constexpr int partial = 3;   // finished, but some inputs were rejected/failed
inline constexpr int requeue = 75;  // checkpointed after a signal: requeue and rerun (EX_TEMPFAIL)
}  // namespace exit_codes

struct ErrorContext {
  std::string file;  // the file or path involved, if any
  std::string key;   // the configuration key involved, if any
  int rank = -1;     // the MPI rank that raised it (-1: filled in from the world)
};

class Error final : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, ErrorContext context = {});

  ErrorKind kind() const noexcept { return kind_; }
  const ErrorContext& context() const noexcept { return context_; }
  const std::string& message() const noexcept { return message_; }
  int exit_code() const noexcept;

 private:
  ErrorKind kind_;
  std::string message_;
  ErrorContext context_;
};

// Shorthands that read well at the throw site.
[[noreturn]] void throw_config(const std::string& key, const std::string& message);
[[noreturn]] void throw_data(const std::string& file, const std::string& message);
[[noreturn]] void throw_runtime(const std::string& message, const std::string& file = {});
[[noreturn]] void throw_usage(const std::string& message);

// The rank stamped on errors raised on this process (set once MPI is up).
void set_error_rank(int rank);

}  // namespace nucseg
