// train.time_limit's duration forms, and the key's validation.
#include <gtest/gtest.h>

#include "nucseg/core/config.hpp"
#include "nucseg/core/duration.hpp"
#include "nucseg/core/error.hpp"

using nucseg::parse_duration_seconds;

TEST(Duration, UnitAndClockForms) {
  const std::string key = "train.time_limit";
  EXPECT_EQ(parse_duration_seconds("", key), 0.0);
  EXPECT_EQ(parse_duration_seconds("0", key), 0.0);
  EXPECT_EQ(parse_duration_seconds("90s", key), 90.0);
  EXPECT_EQ(parse_duration_seconds("10m", key), 600.0);
  EXPECT_EQ(parse_duration_seconds("2h", key), 7200.0);
  EXPECT_EQ(parse_duration_seconds("1h30m", key), 5400.0);
  EXPECT_EQ(parse_duration_seconds("1h30m15s", key), 5415.0);
  EXPECT_EQ(parse_duration_seconds("1.5h", key), 5400.0);
  EXPECT_EQ(parse_duration_seconds(" 9M ", key), 540.0);
  EXPECT_EQ(parse_duration_seconds("01:50:00", key), 6600.0);
  EXPECT_EQ(parse_duration_seconds("50:00", key), 3000.0);
  EXPECT_EQ(parse_duration_seconds("600", key), 600.0);
}

TEST(Duration, MalformedTextIsAConfigErrorNamingTheKey) {
  for (const char* bad : {"abc", "10x", "1h30", "30m1h", "-5s", "1:2:3:4", "1::2", "h", "10mm", "1.2.3s"}) {
    try {
      parse_duration_seconds(bad, "train.time_limit");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::config) << bad;
      EXPECT_EQ(e.context().key, "train.time_limit") << bad;
    }
  }
}

TEST(Duration, TimeLimitKeyTakesTextOrSecondsAndReadsBack) {
  auto c = nucseg::load_config({}, {"train.time_limit=\"1h30m\""});
  EXPECT_EQ(c.train.time_limit, "1h30m");
  EXPECT_EQ(nucseg::load_config({}, {"train.time_limit=90"}).train.time_limit, "90");
  EXPECT_EQ(nucseg::load_config({}, {"train.time_limit=0"}).train.time_limit, "");
  EXPECT_EQ(nucseg::load_config({}, {}).train.time_limit, "");
  EXPECT_THROW(nucseg::load_config({}, {"train.time_limit=\"ten minutes\""}), nucseg::Error);
  EXPECT_THROW(nucseg::load_config({}, {"train.time_limit=true"}), nucseg::Error);
  const auto printed = nucseg::config_to_toml(c, {"train"});
  EXPECT_NE(printed.find("time_limit = '1h30m'"), std::string::npos) << printed;
}
