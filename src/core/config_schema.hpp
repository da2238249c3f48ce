// Private to src/core: the declarative key table behind nucseg::Config.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "nucseg/core/config.hpp"

namespace nucseg::detail {

struct Field {
  KeyInfo info;
  // Assigns the TOML value to the config; throws Error(config) naming the key when invalid.
  std::function<void(Config&, const toml::node&)> assign;
  // Appends the current value to a TOML table under `name`.
  std::function<void(const Config&, toml::table&, const std::string& name)> emit;
};

const std::vector<Field>& fields();
// Older spellings that find_field() maps onto a declared key (never written back).
const std::vector<KeyAlias>& aliases();

constexpr int kMaxChannelIndex = 511;  // OpenCV holds at most 512 channels per image

// TOML text of a channel choice ("rgb", "gray", "", [1, 0, 2]) and its parsing from a TOML value;
// Error(config) naming `key` for anything else.
std::string channel_spec_toml(const ChannelSpec& spec);
ChannelSpec channel_spec_from_node(const toml::node& node, const std::string& key, bool allow_unset);

}  // namespace nucseg::detail
