// How nucseg_infer turns a file into the network's input, the way training did: the source
// channels it chose (data.channels) and its intensity normalisation (data.normalize*), read
// from the resolved configuration the checkpoint stores, unless infer.channels /
// infer.normalize override them.
//
// A checkpoint whose configuration lacks these keys was trained before they existed, on
// channels "rgb" with the pixels divided by their range: it gets "rgb" and "range".
#pragma once

#include <string>

#include "nucseg/core/config.hpp"
#include "nucseg/infer/driver.hpp"
#include "nucseg/io/normalize.hpp"

namespace nucseg::infer {

struct InputRule {
  ChannelSpec channels;          // never unset
  std::string channels_key;      // the key that chose it (named in errors): infer.channels or data.channels
  io::NormalizeSpec normalize;
  std::string channels_origin;   // for the log: "infer.channels", "checkpoint", "default of older checkpoints"
  std::string normalize_origin;  // likewise
};

// `config`: this run's; `training_config`: the TOML the checkpoint stores (may be empty).
// infer.channels = "" takes data.channels of the checkpoint; infer.normalize = "" takes its
// data.normalize with its data.normalize_* values, while a kind given in infer.normalize uses
// this run's data.normalize_* values. Throws Error(config) naming `checkpoint` for a recorded
// configuration that cannot be read, and naming the key for an unusable percentile or range.
InputRule resolve_input_rule(const Config& config, const std::string& training_config, const std::string& checkpoint);

// Reads `path` under `rule`: the raw pixels (kept for per-channel measurements), the network's
// three channels (io::map_channels), their whole-image normalisation ranges
// (io::normalize_ranges) and bit depths. Throws Error(data) naming the file.
LoadedImage load_image(const std::string& path, const InputRule& rule);

}  // namespace nucseg::infer
