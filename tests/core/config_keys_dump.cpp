// Prints the configuration keys as Markdown tables, one per section: the source of the key
// tables in docs/config.md (tools/gen_config_docs.sh rewrites them from this output).
#include <iostream>

#include "config_docs_format.hpp"

int main() { std::cout << nucseg::docs::generated_tables(); }
