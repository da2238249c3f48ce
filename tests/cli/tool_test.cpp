#include <gtest/gtest.h>

#include "nucseg/cli/tool.hpp"
#include "nucseg/core/error.hpp"

using nucseg::cli::parse_command_line;
using nucseg::cli::ToolSpec;

namespace {
ToolSpec spec() { return {"nucseg_eval", "test", "", {"eval"}, {{"--truth", "eval.truth", "truth"}}}; }
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
