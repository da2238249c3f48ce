#include "nucseg/core/config.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "config_schema.hpp"
#include "nucseg/core/error.hpp"

namespace nucseg {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const detail::Field* find_field(const std::string& key) {
  for (const auto& f : detail::fields())
    if (f.info.key == key) return &f;
  for (const auto& a : detail::aliases())
    if (a.alias == key) return find_field(a.key);
  return nullptr;
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& where) {
  std::string msg = "unknown configuration key" + (where.empty() ? "" : " in " + where);
  std::string hint = closest_key(key);
  if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
  throw Error(ErrorKind::config, msg, {where, key, -1});
}

// Applies every leaf of a parsed TOML document, checking that each key is declared.
void apply_table(Config& config, const toml::table& root, const std::string& where) {
  for (const auto& [section_name, section_node] : root) {
    std::string section(section_name.str());
    const auto* table = section_node.as_table();
    if (!table) unknown_key(section, where);
    for (const auto& [name, node] : *table) {
      std::string key = section + "." + std::string(name.str());
      const auto* field = find_field(key);
      if (!field) unknown_key(key, where);
      try {
        field->assign(config, node);
      } catch (const Error& e) {
        throw Error(ErrorKind::config, e.message(), {where, key, -1});
      }
    }
  }
}

void apply_override(Config& config, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(ErrorKind::usage, "--set expects section.key=value, got '" + text + "'");
  std::string key = text.substr(0, eq);
  std::string value = text.substr(eq + 1);
  const auto* field = find_field(key);
  if (!field) unknown_key(key, "--set");
  // The value is read as TOML; for a string key, unquoted text is taken as it is.
  toml::table parsed;
  bool parsed_ok = true;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed_ok = false;
  }
  // Keys that take text ("string", "string or int list") read unquoted text as a string;
  // a list stays a list where the key takes one.
  // Keys that also take "auto" (bool or "auto", float or "auto") read unquoted auto as it.
  bool is_string_key = field->info.type.rfind("string", 0) == 0 ||
                       (value == "auto" && field->info.type.find("\"auto\"") != std::string::npos);
  bool takes_list = field->info.type.find("list") != std::string::npos;
  bool keep_parsed = parsed_ok && (parsed["v"].is_string() || (takes_list && parsed["v"].is_array()));
  if (is_string_key && !keep_parsed) {
    parsed = toml::table{};
    parsed.insert("v", value);
  } else if (!parsed_ok) {
    throw Error(ErrorKind::config, "cannot read value '" + value + "' (type " + field->info.type + ")",
                {"--set", key, -1});
  }
  try {
    field->assign(config, *parsed.get("v"));
  } catch (const Error& e) {
    throw Error(ErrorKind::config, e.message(), {"--set", key, -1});
  }
}

// The data.normalize_* values of a kind in use (by data.normalize or infer.normalize) must
// describe a non-empty range.
void check_normalize(const Config& c) {
  const auto& d = c.data;
  auto used = [&](const char* kind) { return d.normalize == kind || c.infer.normalize == kind; };
  if (used("percentile") && d.normalize_low >= d.normalize_high)
    throw_config("data.normalize_high", "data.normalize_high (" + std::to_string(d.normalize_high) +
                                            ") must be larger than data.normalize_low (" +
                                            std::to_string(d.normalize_low) + ")");
  if (used("fixed") && d.normalize_min >= d.normalize_max)
    throw_config("data.normalize_max", "data.normalize_max (" + std::to_string(d.normalize_max) +
                                           ") must be larger than data.normalize_min (" +
                                           std::to_string(d.normalize_min) + ")");
}

}  // namespace

const std::vector<KeyInfo>& config_keys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> out;
    for (const auto& f : detail::fields()) out.push_back(f.info);
    return out;
  }();
  return keys;
}

const std::vector<KeyAlias>& config_key_aliases() { return detail::aliases(); }

std::string closest_key(const std::string& key) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, key.size() / 3) + 1;
  for (const auto& f : detail::fields()) {
    size_t d = edit_distance(key, f.info.key);
    // A bare name that matches the part after the dot is a good hint too.
    auto dot = f.info.key.find('.');
    if (f.info.key.compare(dot + 1, std::string::npos, key) == 0) d = 1;
    if (d < best_distance) {
      best_distance = d;
      best = f.info.key;
    }
  }
  return best;
}

Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  Config config;
  for (const auto& file : files) {
    // toml++ reads a folder as an empty document and words a missing file as a parse error at
    // line 0; other non-regular files (a pipe from <(...)) are read as they are.
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)  // e.g. no permission
      throw Error(ErrorKind::config, "cannot read the configuration file: " + ec.message(), {file, "", -1});
    if (!std::filesystem::exists(status))
      throw Error(ErrorKind::config, "configuration file does not exist", {file, "", -1});
    if (std::filesystem::is_directory(status))
      throw Error(ErrorKind::config, "configuration path is a folder, not a TOML file", {file, "", -1});
    toml::table root;
    try {
      root = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << "cannot parse configuration: " << e.description() << " at line " << e.source().begin.line
          << ", column " << e.source().begin.column;
      throw Error(ErrorKind::config, msg.str(), {file, "", -1});
    }
    apply_table(config, root, file);
  }
  for (const auto& o : overrides) apply_override(config, o);
  if (config.synth.min_side > config.synth.max_side)
    throw_config("synth.min_side", "synth.min_side (" + std::to_string(config.synth.min_side) +
                                       ") is larger than synth.max_side (" + std::to_string(config.synth.max_side) + ")");
  if (config.synth.min_radius > config.synth.max_radius)
    throw_config("synth.min_radius", "synth.min_radius is larger than synth.max_radius");
  if (config.infer.overlap * 2 >= config.infer.tile)
    throw_config("infer.overlap", "infer.overlap (" + std::to_string(config.infer.overlap) +
                                      ") must be less than half of infer.tile (" + std::to_string(config.infer.tile) + ")");
  if (!config.train.class_weights.empty() &&
      static_cast<int>(config.train.class_weights.size()) != config.model.classes)
    throw_config("train.class_weights", "train.class_weights has " + std::to_string(config.train.class_weights.size()) +
                                            " entries but model.classes is " + std::to_string(config.model.classes));
  check_normalize(config);
  return config;
}

bool RecordedConfig::has(const std::string& key) const {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

RecordedConfig parse_recorded_config(const std::string& toml_text, const std::string& where) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::config, std::string("cannot parse the recorded configuration: ") + std::string(e.description()),
                {where, "", -1});
  }
  RecordedConfig out;
  for (const auto& [section_name, section_node] : root) {
    const auto* table = section_node.as_table();
    if (!table) continue;
    for (const auto& [name, node] : *table) {
      const auto* field = find_field(std::string(section_name.str()) + "." + std::string(name.str()));
      if (!field) continue;  // a key of another version
      try {
        field->assign(out.config, node);
      } catch (const Error& e) {
        throw Error(ErrorKind::config, "recorded value: " + e.message(), {where, field->info.key, -1});
      }
      out.keys.push_back(field->info.key);
    }
  }
  return out;
}

std::string to_toml(const ChannelSpec& spec) { return detail::channel_spec_toml(spec); }

ChannelSpec parse_channel_spec(const std::string& text, const std::string& key, bool allow_unset) {
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    parsed.insert_or_assign("v", text);  // unquoted rgb / gray
  }
  return detail::channel_spec_from_node(*parsed.get("v"), key, allow_unset);
}

std::string config_to_toml(const Config& config, const std::vector<std::string>& sections) {
  // Keep the declaration order of sections and keys: it reads like the docs.
  std::vector<std::string> order;
  std::map<std::string, toml::table> tables;
  for (const auto& f : detail::fields()) {
    auto dot = f.info.key.find('.');
    std::string section = f.info.key.substr(0, dot);
    if (!sections.empty() && std::find(sections.begin(), sections.end(), section) == sections.end()) continue;
    if (!tables.count(section)) order.push_back(section);
    f.emit(config, tables[section], f.info.key.substr(dot + 1));
  }
  std::ostringstream out;
  for (const auto& section : order) {
    out << "[" << section << "]\n";
    // toml++ sorts keys; print in declaration order instead.
    for (const auto& f : detail::fields()) {
      auto dot = f.info.key.find('.');
      if (f.info.key.substr(0, dot) != section) continue;
      std::string name = f.info.key.substr(dot + 1);
      toml::table one;
      f.emit(config, one, name);
      out << one << "\n";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace nucseg
