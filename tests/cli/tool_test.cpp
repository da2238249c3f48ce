#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include "nucseg/cli/tool.hpp"
#include "nucseg/core/error.hpp"

using nucseg::cli::parse_command_line;
using nucseg::cli::ToolSpec;

namespace {
ToolSpec spec() { return {"nucseg_eval", "test", "", {"eval"}, {{"--truth", "eval.truth", "truth"}}}; }

// run_tool on these arguments (argv[0] = the tool's name).
int run(std::vector<std::string> args, const std::function<int(nucseg::cli::ToolContext&)>& body) {
  args.insert(args.begin(), "nucseg_eval");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return nucseg::cli::run_tool(static_cast<int>(args.size()), argv.data(), spec(), body);
}
}  // namespace

TEST(Cli, ParsesCommonOptionsAndAliases) {
  auto cl = parse_command_line(spec(), {"--config", "a.toml", "--set", "eval.output=x.json", "--truth=/t",
                                        "-c", "b.toml", "--log-level", "debug", "--print-config"});
  EXPECT_EQ(cl.config_files, (std::vector<std::string>{"a.toml", "b.toml"}));
  EXPECT_EQ(cl.overrides, (std::vector<std::string>{"eval.output=x.json", "eval.truth=/t"}));
  EXPECT_EQ(cl.log_level, "debug");
  EXPECT_TRUE(cl.print_config);
}

TEST(Cli, UnknownOptionAndMissingValueAreUsageErrors) {
  for (auto args : {std::vector<std::string>{"--frobnicate"}, std::vector<std::string>{"--config"}}) {
    try {
      parse_command_line(spec(), args);
      FAIL() << args[0];
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
    }
  }
}

TEST(Cli, HelpListsTheToolsKeysAndExitCodes) {
  auto help = nucseg::cli::help_text(spec());
  EXPECT_NE(help.find("eval.truth"), std::string::npos);
  EXPECT_NE(help.find("--truth"), std::string::npos);
  EXPECT_EQ(help.find("train.batch_size"), std::string::npos);
  EXPECT_NE(help.find("Exit codes"), std::string::npos);
}

// --print-config shows only what a run would accept: a bad --log-level is exit 2, as in a run.
TEST(Cli, PrintConfigRefusesAnInvalidLogLevel) {
  auto never = [](nucseg::cli::ToolContext&) { return 0; };
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = run({"--print-config", "--log-level", "bogus"}, never);
  const std::string out = ::testing::internal::GetCapturedStdout(), err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("log.level"), std::string::npos) << err;
  EXPECT_NE(err.find("bogus"), std::string::npos) << err;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run({"--print-config", "--log-level", "warn"}, never), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("[eval]"), std::string::npos);
}

// A libtorch error that reaches the frame is logged as its message, without the C++
// backtrace libtorch appends to what(). (This test starts MPI: the only one here that does.)
TEST(Cli, LibtorchErrorIsLoggedWithoutItsBacktrace) {
  ::testing::internal::CaptureStderr();
  const int code = run({}, [](nucseg::cli::ToolContext&) -> int { TORCH_CHECK(false, "Target 2 is out of bounds."); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("unexpected failure: Target 2 is out of bounds."), std::string::npos) << err;
  EXPECT_EQ(err.find("frame #"), std::string::npos) << err;
  EXPECT_EQ(err.find("Exception raised from"), std::string::npos) << err;
}
