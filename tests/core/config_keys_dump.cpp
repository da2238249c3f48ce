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
  std::cout << "\n### Older spellings\n\n"
            << "Still read, into the key they name, until nucseg 0.2; never written (`--print-config` and the\n"
            << "configuration saved with every output use the new key).\n\n"
            << "| old key | read as |\n"
            << "| --- | --- |\n";
  for (const auto& a : nucseg::config_key_aliases()) std::cout << "| `" << a.alias << "` | `" << a.key << "` |\n";
}
