// Prints the configuration keys as Markdown tables, one per section: the source of the key
// tables in docs/config.md (tools/gen_config_docs.sh rewrites them from this output).
#include <iostream>
#include <string>

#include "nucseg/core/config.hpp"

int main() {
  std::string section;
  for (const auto& k : nucseg::config_keys()) {
    std::string s = k.key.substr(0, k.key.find('.'));
    if (s != section) {
      section = s;
      std::cout << "\n### [" << section << "]\n\n"
                << "| key | type | default | allowed | meaning |\n"
                << "| --- | --- | --- | --- | --- |\n";
    }
    std::string def = k.default_value == "\"\"" ? "`\"\"` (empty)" : "`" + k.default_value + "`";
    std::cout << "| `" << k.key << "` | " << k.type << " | " << def << " | " << k.allowed << " | " << k.doc << " |\n";
  }
}
