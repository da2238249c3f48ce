// The key tables of docs/config.md as the code's key table gives them: written by
// nucseg_config_keys (tools/gen_config_docs.sh) and compared with the page by
// core_config_docs_test, so both use these functions and cannot format a row differently.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "nucseg/core/config.hpp"

namespace nucseg::docs {

// The cells of one key's row: key, type, default, allowed, meaning (Markdown, unescaped).
inline std::vector<std::string> key_cells(const KeyInfo& k) {
  std::string def = k.default_value == "\"\"" ? "`\"\"` (empty)" : "`" + k.default_value + "`";
  return {"`" + k.key + "`", k.type, def, k.allowed, k.doc};
}

inline std::string table_row(const std::vector<std::string>& cells) {
  std::string row = "|";
  for (const auto& c : cells) row += " " + c + " |";
  return row;
}

// Everything after the "<!-- generated keys -->" line of docs/config.md.
inline std::string generated_tables() {
  std::ostringstream out;
  std::string section;
  for (const auto& k : config_keys()) {
    std::string s = k.key.substr(0, k.key.find('.'));
    if (s != section) {
      section = s;
      out << "\n### [" << section << "]\n\n"
          << "| key | type | default | allowed | meaning |\n"
          << "| --- | --- | --- | --- | --- |\n";
    }
    out << table_row(key_cells(k)) << "\n";
  }
  out << "\n### Older spellings\n\n"
      << "Still read, into the key they name, until nucseg 0.2; never written (`--print-config` and the\n"
      << "configuration saved with every output use the new key).\n\n"
      << "| old key | read as |\n"
      << "| --- | --- |\n";
  for (const auto& a : config_key_aliases()) out << table_row({"`" + a.alias + "`", "`" + a.key + "`"}) << "\n";
  return out.str();
}

}  // namespace nucseg::docs
