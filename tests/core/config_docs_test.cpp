// docs/config.md must document exactly the keys the code declares.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "nucseg/core/config.hpp"

TEST(ConfigDocs, EveryKeyInCodeIsDocumentedAndViceVersa) {
  const char* source = std::getenv("NUCSEG_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "NUCSEG_SOURCE_DIR is set by CTest";
  std::ifstream in(std::string(source) + "/docs/config.md");
  ASSERT_TRUE(in) << "docs/config.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();

  // Table rows look like: | `section.key` | type | default | meaning |
  std::set<std::string> documented;
  std::regex row(R"(\|\s*`([a-z_]+\.[a-z_0-9]+)`\s*\|)");
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end; ++it) documented.insert((*it)[1]);

  std::set<std::string> declared;
  for (const auto& k : nucseg::config_keys()) {
    declared.insert(k.key);
    EXPECT_TRUE(documented.count(k.key)) << "key " << k.key << " is not documented in docs/config.md";
  }
  for (const auto& a : nucseg::config_key_aliases()) {
    declared.insert(a.alias);
    EXPECT_TRUE(documented.count(a.alias)) << "older key " << a.alias << " is not documented in docs/config.md";
  }
  for (const auto& k : documented)
    EXPECT_TRUE(declared.count(k)) << "docs/config.md documents " << k << ", which the code does not know";
}
