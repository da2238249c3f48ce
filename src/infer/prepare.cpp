#include "nucseg/infer/prepare.hpp"

#include "nucseg/core/error.hpp"
#include "nucseg/io/channels.hpp"
#include "nucseg/io/image.hpp"

namespace nucseg::infer {

InputRule resolve_input_rule(const Config& config, const std::string& training_config, const std::string& checkpoint) {
  const RecordedConfig recorded = parse_recorded_config(training_config, checkpoint);
  InputRule rule;
  const auto& ic = config.infer;
  if (ic.channels.kind != ChannelSpec::Kind::unset) {
    rule.channels = ic.channels;
    rule.channels_key = "infer.channels";
    rule.channels_origin = "infer.channels";
  } else {
    rule.channels_key = "data.channels";  // what the user would set in the training run; infer.channels overrides
    const bool known = recorded.has("data.channels");
    rule.channels = known ? recorded.config.data.channels : ChannelSpec{ChannelSpec::Kind::rgb, {}};
    rule.channels_origin = known ? "checkpoint" : "default of older checkpoints";
  }
  if (!ic.normalize.empty()) {
    rule.normalize = io::normalize_spec(ic.normalize, config.data, "infer.normalize");
    rule.normalize_origin = "infer.normalize";
  } else if (recorded.has("data.normalize")) {
    rule.normalize = io::normalize_spec(recorded.config.data);
    rule.normalize_origin = "checkpoint";
  } else {
    rule.normalize.kind = io::NormalizeKind::range;
    rule.normalize_origin = "default of older checkpoints";
  }
  return rule;
}

LoadedImage load_image(const std::string& path, const InputRule& rule) {
  io::RawImage raw = io::read_raw_image(path);
  io::check_fixed_normalization(rule.normalize, raw.converted, path,
                                rule.normalize_origin == "infer.normalize" ? "infer.normalize" : "data.normalize");
  LoadedImage image;
  image.rgb = io::map_channels(raw, rule.channels, path, rule.channels_key);
  image.ranges = io::normalize_ranges(image.rgb, rule.normalize);
  image.bit_depth = raw.container_bits();
  image.effective_bits = io::effective_bit_depth(image.rgb);
  image.source_channels = raw.channels();
  image.pixel_size = raw.pixel_size;
  image.raw = std::move(raw.pixels);
  return image;
}

}  // namespace nucseg::infer
