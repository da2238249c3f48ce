#include "nucseg/cli/tool.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>

// Only the exception type: the cli layer links libtorch already (through dist), and a
// c10::Error that reaches here would otherwise print its backtrace.
#include <c10/util/Exception.h>

#include "nucseg/core/allocator.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::cli {

CommandLine parse_command_line(const ToolSpec& spec, const std::vector<std::string>& args) {
  CommandLine cl;
  auto value_of = [&](size_t& i, const std::string& flag) -> std::string {
    const std::string& arg = args[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) return arg.substr(eq + 1);
    if (i + 1 >= args.size()) throw_usage(flag + " needs a value");
    return args[++i];
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string flag = arg.substr(0, arg.find('='));
    if (flag == "-h" || flag == "--help") cl.help = true;
    else if (flag == "--version") cl.version = true;
    else if (flag == "--print-config") cl.print_config = true;
    else if (flag == "--config" || flag == "-c") cl.config_files.push_back(value_of(i, flag));
    else if (flag == "--set" || flag == "-s") cl.overrides.push_back(value_of(i, flag));
    else if (flag == "--log-level") cl.log_level = value_of(i, flag);
    else {
      bool matched = false;
      for (const auto& alias : spec.aliases) {
        if (flag == alias.flag) {
          cl.overrides.push_back(alias.key + "=" + value_of(i, flag));
          matched = true;
          break;
        }
      }
      if (!matched) throw_usage("unknown option '" + arg + "' (see " + spec.name + " --help)");
    }
  }
  return cl;
}

std::string help_text(const ToolSpec& spec) {
  std::ostringstream out;
  out << spec.name << " " << NUCSEG_VERSION << ": " << spec.summary << "\n\n"
      << "Usage: " << spec.name << " [--config FILE.toml] [--set section.key=value]... [options]\n";
  if (!spec.usage_example.empty()) out << "   or: " << spec.usage_example << "\n";
  out << "\nOptions:\n"
      << "  -c, --config FILE     TOML configuration (repeatable; later files win)\n"
      << "  -s, --set KEY=VALUE   override one key, e.g. --set train.epochs=5 (repeatable)\n"
      << "      --print-config    print the resolved configuration and exit\n"
      << "      --log-level LEVEL trace, debug, info, warn, error, off\n"
      << "  -h, --help            this help\n"
      << "      --version         print the version\n";
  for (const auto& alias : spec.aliases) {
    std::string left = "      " + alias.flag + " VALUE";
    out << left << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << alias.help << " (= --set "
        << alias.key << "=VALUE)\n";
  }
  out << "\nConfiguration keys read by this tool:\n";
  for (const auto& k : config_keys()) {
    auto section = k.key.substr(0, k.key.find('.'));
    bool used = spec.sections.empty();
    for (const auto& s : spec.sections) used = used || s == section;
    if (!used) continue;
    out << "  " << k.key << " (" << k.type << ", default " << k.default_value << ")\n      " << k.doc << "\n";
  }
  out << "\nExit codes: 0 success, 1 runtime or data failure, 2 usage or configuration error,\n"
      << "            3 finished but some inputs failed, 75 checkpointed after a signal (requeue).\n"
      << "Every key is documented in docs/config.md.\n";
  return out.str();
}

namespace {

// Rank 0's exit code for the launcher's caller (NUCSEG_STATUS_FILE): mpirun answers a SIGTERM
// or SIGINT with exit 1 even when every rank stopped cleanly with 75, and srun reports what it
// saw of the tasks; the job scripts read the job's own code from here.
void record_status(const dist::World* world, int code) {
  const char* file = std::getenv("NUCSEG_STATUS_FILE");
  if (!file || !*file || (world && !world->is_root())) return;
  try {
    fs::write_file_atomic(file, std::to_string(code) + "\n");
  } catch (const Error& e) {
    log::rank().warn("cannot record the exit code in NUCSEG_STATUS_FILE: {}", e.what());
  }
}

}  // namespace

int run_tool(int argc, char** argv, const ToolSpec& spec, const std::function<int(ToolContext&)>& body) {
  keep_freed_memory_for_reuse();  // large tensors: see core/allocator.hpp
  // A write past the file-size limit (ulimit -f) then fails with EFBIG, which the writer
  // reports by name ("File too large") before the job ends cleanly, instead of killing the
  // process with a core dump in the middle of a write.
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  // Usage and configuration errors are found identically on every rank, before MPI starts,
  // so each rank exits on its own and none waits in a collective.
  CommandLine cl;
  Config config;
  try {
    cl = parse_command_line(spec, args);
    if (cl.help) {
      std::cout << help_text(spec);
      return exit_codes::ok;
    }
    if (cl.version) {
      std::cout << spec.name << " " << NUCSEG_VERSION << "\n";
      return exit_codes::ok;
    }
    // --log-level is --set log.level=..., applied last: validated like every key, so
    // --print-config never shows a level a run would refuse.
    auto overrides = cl.overrides;
    if (!cl.log_level.empty()) overrides.push_back("log.level=" + cl.log_level);
    config = load_config(cl.config_files, overrides);
    if (cl.print_config) {
      std::cout << config_to_toml(config, spec.sections);
      return exit_codes::ok;
    }
  } catch (const Error& e) {
    std::cerr << spec.name << ": error: " << e.what() << "\n";
    record_status(nullptr, e.exit_code());  // every rank the same
    return e.exit_code();
  }

  std::unique_ptr<dist::World> world;
  try {
    world = std::make_unique<dist::World>(&argc, &argv);
    log::init(world->rank(), world->size(), config.log.level, config.log.dir);
    world->check_slurm_launch();
  } catch (const Error& e) {
    std::cerr << spec.name << ": error: " << e.what() << "\n";
    record_status(world.get(), e.exit_code());
    return e.exit_code();
  }

  auto unexpected = [&](const std::string& what) {
    log::rank().error("unexpected failure: {}", what);
    log::rank().flush();
    record_status(world.get(), exit_codes::failure);
    if (world->size() > 1) world->abort(exit_codes::failure);
    return exit_codes::failure;
  };
  int code = exit_codes::failure;
  try {
    log::job().info("{} {} on {} rank(s): {}", spec.name, NUCSEG_VERSION, world->size(), command_line);
    ToolContext context{config, *world, command_line, config_to_toml(config, spec.sections)};
    log::job().debug("resolved configuration:\n{}", context.resolved_config);
    code = body(context);
  } catch (const Error& e) {
    log::rank().error("{}", e.what());
    spdlog::default_logger()->flush();
    log::rank().flush();
    record_status(world.get(), e.exit_code());
    if (world->size() > 1) world->abort(e.exit_code());
    return e.exit_code();
  } catch (const c10::Error& e) {
    // what() appends libtorch's C++ backtrace (some 25 frame lines) to the message.
    return unexpected(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return unexpected(e.what());
  }
  log::rank().flush();
  record_status(world.get(), code);
  return code;
}

}  // namespace nucseg::cli
