// Fuzzes the configuration loader: load_config on a TOML file of arbitrary bytes (toml++'s
// parser, the key table of config_schema.cpp with its range/choice/type checks, the cross-key
// checks of config.cpp), with the "--set section.key=value" overrides that follow a line
// holding only "#--set" in the input; parse_recorded_config on the same text (the TOML a
// checkpoint or shard index stores); and the round trip a run records: config_to_toml of a
// loaded configuration must load again to the same configuration (same TOML text).
// Seeds: the repository's configs/*.toml and seeds/make_seeds.py (overrides, channel lists, durations).
#include <fstream>
#include <sstream>
#include <vector>

#include "fuzz_common.hpp"
#include "nucseg/core/config.hpp"

using nucseg::ErrorKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  const std::string marker = "\n#--set\n";
  if (auto at = text.find(marker); at != std::string::npos) {
    std::istringstream rest(text.substr(at + marker.size()));
    for (std::string line; std::getline(rest, line);)
      if (!line.empty()) overrides.push_back(line);
    text.resize(at + 1);
  }
  const std::string path = nucseg_fuzz::write_temp(reinterpret_cast<const uint8_t*>(text.data()), text.size(), ".toml");

  nucseg::Config config;
  if (nucseg_fuzz::refuses_cleanly([&] { config = nucseg::load_config({path}, overrides); },
                                   {ErrorKind::config, ErrorKind::usage})) {
    std::string first, second;
    nucseg_fuzz::refuses_cleanly([&] { first = nucseg::config_to_toml(config); }, {});
    const std::string again = nucseg_fuzz::write_temp(reinterpret_cast<const uint8_t*>(first.data()), first.size(), ".toml");
    nucseg::Config reloaded;
    try {
      reloaded = nucseg::load_config({again}, {});
    } catch (const nucseg::Error& e) {
      nucseg_fuzz::wrong("the recorded configuration does not load again: " + std::string(e.what()) + "\n" + first);
    }
    second = nucseg::config_to_toml(reloaded);
    if (first != second) nucseg_fuzz::wrong("the recorded configuration loads to another one:\n" + first + "\n----\n" + second);
  }
  nucseg_fuzz::refuses_cleanly([&] { (void)nucseg::parse_recorded_config(text, "fuzz.toml"); }, {ErrorKind::config});
  return 0;
}
