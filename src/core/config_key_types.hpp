// The key builders of the configuration table (config_schema.cpp): one function per value type
// (integer, float, bool, string, lists, tri-state, channels, duration, diameter), each returning
// the Field that parses, validates and emits one key with messages that name it. Private to
// nucseg::core; included only by config_schema.cpp.
#pragma once

#include <cmath>
#include <limits>
#include <sstream>

#include "config_schema.hpp"
#include "nucseg/core/duration.hpp"
#include "nucseg/core/error.hpp"

namespace nucseg::detail {

inline std::string describe(const toml::node& node) {
  std::ostringstream out;
  node.visit([&](auto&& value) { out << value; });
  return out.str();
}

inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

inline std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A number as the user wrote it, to 15 significant digits (number_text keeps 6: 123456.7 would
// become "123457"); for values that are parsed again, such as a duration in seconds.
inline std::string exact_number_text(double v) {
  std::ostringstream out;
  out.precision(15);
  out << v;
  return out.str();
}

template <class Section, class T>
using Member = T Section::*;

template <class Section>
using SectionOf = Section Config::*;

// Integer key within [lo, hi]; optionally a multiple of `step`.
template <class Section, class T>
Field int_key(const char* key, SectionOf<Section> sec, Member<Section, T> mem, long lo, long hi,
              const char* doc, long multiple_of = 1) {
  std::string allowed = lo == hi ? std::to_string(lo) : std::to_string(lo) + " .. " + std::to_string(hi);
  if (multiple_of > 1) allowed += ", a multiple of " + std::to_string(multiple_of);
  Config defaults;
  KeyInfo info{key, "int", std::to_string((defaults.*sec).*mem), allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) {
    auto v = n.value_exact<int64_t>();
    if (!v) throw_config(key, "expected an integer, got " + describe(n) + " (allowed: " + allowed + ")");
    if (*v < lo || *v > hi || *v % multiple_of != 0)
      throw_config(key, "value " + std::to_string(*v) + " is out of range (allowed: " + allowed + ")");
    (c.*sec).*mem = static_cast<T>(*v);
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    t.insert_or_assign(name, static_cast<int64_t>((c.*sec).*mem));
  };
  return {info, assign, emit};
}

template <class Section>
Field float_key(const char* key, SectionOf<Section> sec, Member<Section, double> mem, double lo,
                double hi, const char* doc) {
  std::string allowed = number_text(lo) + " .. " + number_text(hi);
  Config defaults;
  KeyInfo info{key, "float", number_text((defaults.*sec).*mem), allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) {
    auto v = n.value<double>();  // integers are accepted as floats
    if (!v || !n.is_number()) throw_config(key, "expected a number, got " + describe(n) + " (allowed: " + allowed + ")");
    if (!std::isfinite(*v) || *v < lo || *v > hi)
      throw_config(key, "value " + number_text(*v) + " is out of range (allowed: " + allowed + ")");
    (c.*sec).*mem = *v;
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    t.insert_or_assign(name, (c.*sec).*mem);
  };
  return {info, assign, emit};
}

template <class Section>
Field bool_key(const char* key, SectionOf<Section> sec, Member<Section, bool> mem, const char* doc) {
  Config defaults;
  KeyInfo info{key, "bool", (defaults.*sec).*mem ? "true" : "false", "true, false", doc};
  auto assign = [=](Config& c, const toml::node& n) {
    auto v = n.value_exact<bool>();
    if (!v) throw_config(key, "expected true or false, got " + describe(n));
    (c.*sec).*mem = *v;
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    t.insert_or_assign(name, (c.*sec).*mem);
  };
  return {info, assign, emit};
}

// String key; `choices` empty means any string.
template <class Section>
Field string_key(const char* key, SectionOf<Section> sec, Member<Section, std::string> mem,
                 std::vector<std::string> choices, const char* doc) {
  Config defaults;
  std::string allowed = choices.empty() ? "any string" : join(choices);
  KeyInfo info{key, "string", "\"" + (defaults.*sec).*mem + "\"", allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) {
    auto v = n.value_exact<std::string>();
    if (!v) throw_config(key, "expected a string, got " + describe(n));
    if (!choices.empty() && std::find(choices.begin(), choices.end(), *v) == choices.end())
      throw_config(key, "value \"" + *v + "\" is not allowed (allowed: " + allowed + ")");
    (c.*sec).*mem = *v;
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    t.insert_or_assign(name, (c.*sec).*mem);
  };
  return {info, assign, emit};
}

template <class Section>
Field float_list_key(const char* key, SectionOf<Section> sec, Member<Section, std::vector<double>> mem,
                     double lo, double hi, const char* doc) {
  std::string allowed = "a list of numbers in " + number_text(lo) + " .. " + number_text(hi);
  KeyInfo info{key, "float list", "[]", allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) {
    const auto* arr = n.as_array();
    if (!arr) throw_config(key, "expected a list of numbers, got " + describe(n));
    std::vector<double> out;
    for (const auto& item : *arr) {
      auto v = item.value<double>();
      if (!v || !item.is_number() || *v < lo || *v > hi)
        throw_config(key, "list item " + describe(item) + " is not allowed (allowed: " + allowed + ")");
      out.push_back(*v);
    }
    (c.*sec).*mem = out;
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    toml::array arr;
    for (double v : (c.*sec).*mem) arr.push_back(v);
    t.insert_or_assign(name, arr);
  };
  return {info, assign, emit};
}

template <class Section>
Field tristate_key(const char* key, SectionOf<Section> sec, Member<Section, TriState> mem, const char* doc) {
  KeyInfo info{key, "bool or \"auto\"", "\"auto\"", "true, false, \"auto\"", doc};
  auto assign = [=](Config& c, const toml::node& n) {
    if (auto b = n.value_exact<bool>()) {
      (c.*sec).*mem = *b ? TriState::yes : TriState::no;
    } else if (auto s = n.value_exact<std::string>(); s && *s == "auto") {
      (c.*sec).*mem = TriState::automatic;
    } else {
      throw_config(key, "expected true, false or \"auto\", got " + describe(n));
    }
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    switch ((c.*sec).*mem) {
      case TriState::automatic: t.insert_or_assign(name, "auto"); break;
      case TriState::yes: t.insert_or_assign(name, true); break;
      case TriState::no: t.insert_or_assign(name, false); break;
    }
  };
  return {info, assign, emit};
}

// data.channels / infer.channels: "rgb", "gray" (or "" when `allow_unset`), or a list of one or
// three source channel indices.
template <class Section>
Field channels_key(const char* key, SectionOf<Section> sec, Member<Section, ChannelSpec> mem, bool allow_unset,
                   const char* doc) {
  Config defaults;
  std::string allowed = std::string(allow_unset ? "\"\" (the checkpoint's), " : "") +
                        "\"rgb\", \"gray\", or a list of 1 or 3 source channel indices (0 .. " +
                        std::to_string(kMaxChannelIndex) + ")";
  KeyInfo info{key, "string or int list", channel_spec_toml((defaults.*sec).*mem), allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) { (c.*sec).*mem = channel_spec_from_node(n, key, allow_unset); };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    const ChannelSpec& spec = (c.*sec).*mem;
    if (spec.kind != ChannelSpec::Kind::indices) {
      t.insert_or_assign(name, spec.kind == ChannelSpec::Kind::rgb    ? "rgb"
                               : spec.kind == ChannelSpec::Kind::gray ? "gray"
                                                                      : "");
      return;
    }
    toml::array arr;
    for (int i : spec.indices) arr.push_back(static_cast<int64_t>(i));
    t.insert_or_assign(name, arr);
  };
  return {info, assign, emit};
}

// A wall-clock duration (parse_duration_seconds): a string, or a number of seconds; kept as text.
inline Field duration_key(const char* key, std::string TrainConfig::*mem, const char* doc) {
  KeyInfo info{key, "string", "\"\"", "\"\" (none), \"90s\", \"10m\", \"1h30m\", \"01:50:00\", or seconds", doc};
  auto assign = [=](Config& c, const toml::node& n) {
    std::string text;
    if (auto s = n.value_exact<std::string>()) text = *s;
    else if (auto i = n.value_exact<int64_t>()) text = std::to_string(*i);  // every digit: 1234567, not 1.23457e+06
    else if (n.is_number()) text = exact_number_text(*n.value<double>());
    else throw_config(key, "expected a duration such as \"10m\", got " + describe(n));
    parse_duration_seconds(text, key);  // validates
    c.train.*mem = text == "0" ? std::string() : text;
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) { t.insert_or_assign(name, c.train.*mem); };
  return {info, assign, emit};
}

// infer.diameter: 0 (no rescaling), a diameter in pixels, or "auto".
template <class Section>
Field diameter_key(const char* key, SectionOf<Section> sec, Member<Section, DiameterSpec> mem, double hi,
                   const char* doc) {
  const std::string allowed = "0 (no rescaling), a number of pixels in 1 .. " + number_text(hi) + ", or \"auto\"";
  const DiameterSpec fallback = Section{}.*mem;  // the documented default is the struct's
  KeyInfo info{key, "float or \"auto\"", fallback.automatic ? "\"auto\"" : number_text(fallback.pixels), allowed, doc};
  auto assign = [=](Config& c, const toml::node& n) {
    if (auto s = n.value_exact<std::string>(); s && *s == "auto") {
      (c.*sec).*mem = DiameterSpec{true, 0.0};
      return;
    }
    auto v = n.value<double>();
    if (!v || !n.is_number()) throw_config(key, "expected a number or \"auto\", got " + describe(n) + " (allowed: " + allowed + ")");
    if (!std::isfinite(*v) || (*v != 0.0 && (*v < 1.0 || *v > hi)))
      throw_config(key, "value " + number_text(*v) + " is out of range (allowed: " + allowed + ")");
    (c.*sec).*mem = DiameterSpec{false, *v};
  };
  auto emit = [=](const Config& c, toml::table& t, const std::string& name) {
    const DiameterSpec& d = (c.*sec).*mem;
    if (d.automatic) t.insert_or_assign(name, "auto");
    else t.insert_or_assign(name, d.pixels);
  };
  return {info, assign, emit};
}


}  // namespace nucseg::detail
