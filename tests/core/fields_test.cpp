// Length-prefixed fields: what rank 0 broadcasts (pack's listing, infer's input and failure
// lists) reads back byte for byte, and a damaged string is an error naming what it was.
#include "nucseg/core/fields.hpp"

#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"

TEST(Fields, RoundTripAnyBytes) {
  const std::string odd = std::string("a:b\n12:") + '\0' + "\xff";
  std::string s;
  for (const std::string& f : {std::string(), odd, std::string("plain"), std::string(1000, 'x')}) nucseg::put_field(s, f);
  size_t pos = 0;
  EXPECT_EQ(nucseg::take_field(s, pos, "test"), "");
  EXPECT_EQ(nucseg::take_field(s, pos, "test"), odd);
  EXPECT_EQ(nucseg::take_field(s, pos, "test"), "plain");
  EXPECT_EQ(nucseg::take_field(s, pos, "test"), std::string(1000, 'x'));
  EXPECT_EQ(pos, s.size());
  EXPECT_THROW(nucseg::take_field(s, pos, "test"), nucseg::Error);  // nothing left
}

TEST(Fields, DamagedStringsAreErrors) {
  for (const std::string bad : {"5:abc", "x:abc", ":abc", "3abc", "99999999999999999999999:a", "-1:a"}) {
    size_t pos = 0;
    try {
      nucseg::take_field(bad, pos, "listing");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const nucseg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("corrupt serialised listing"), std::string::npos) << e.what();
    }
  }
}

TEST(Fields, CountsRoundTripAndDamagedCountsAreErrors) {
  std::string out;
  nucseg::put_count(out, 0);
  nucseg::put_count(out, 18446744073709551615ULL);
  size_t pos = 0;
  EXPECT_EQ(nucseg::take_count(out, pos, "listing"), 0u);
  EXPECT_EQ(nucseg::take_count(out, pos, "listing"), 18446744073709551615ULL);
  EXPECT_EQ(pos, out.size());
  for (const std::string bad : {"0:", "2:-1", "3:1e3", "2: 7", "20:99999999999999999999"}) {
    size_t p = 0;
    try {
      nucseg::take_count(bad, p, "listing");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const nucseg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("corrupt serialised listing"), std::string::npos) << e.what();
    }
  }
}
