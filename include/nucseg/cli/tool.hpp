// The frame every nucseg executable runs in: option parsing (--config, --set,
// --print-config, --help, --version, --log-level, tool flags), MPI start-up, logging, and the
// mapping of errors to exit codes (aborting the whole MPI job when one rank fails).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::cli {

// A tool-specific flag that is shorthand for a configuration key: `--truth X` sets eval.truth.
struct FlagAlias {
  std::string flag;  // "--truth"
  std::string key;   // "eval.truth"
  std::string help;
};

struct ToolSpec {
  std::string name;                   // "nucseg_pack"
  std::string summary;                // one line for --help
  std::string usage_example;          // shown in --help
  std::vector<std::string> sections;  // config sections this tool reads (for --help and --print-config)
  std::vector<FlagAlias> aliases;
};

struct ToolContext {
  const Config& config;
  const dist::World& world;
  std::string command_line;
  std::string resolved_config;  // TOML of this tool's sections
};

// Parsed command line, before any configuration is loaded (exposed for tests).
struct CommandLine {
  std::vector<std::string> config_files;
  std::vector<std::string> overrides;  // section.key=value, in order
  std::string log_level;
  bool help = false;
  bool version = false;
  bool print_config = false;
};
CommandLine parse_command_line(const ToolSpec& spec, const std::vector<std::string>& args);
std::string help_text(const ToolSpec& spec);

// Runs `body` inside the frame and returns the process exit code.
int run_tool(int argc, char** argv, const ToolSpec& spec, const std::function<int(ToolContext&)>& body);

}  // namespace nucseg::cli
