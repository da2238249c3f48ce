// Intensity normalisation: raw 8/16-bit pixels -> the network's float input, per image and
// channel (data.normalize, infer.normalize). Shards keep raw pixels; the loader and inference
// normalise with these functions, so training and inference share one rule.
//
//   percentile  the `low` and `high` percentiles of each channel (numpy's default linear
//               interpolation, as csbdeep/StarDist's and Cellpose's normalisers) map to 0 and 1.
//               Not clipped: the brightest (100 - high)% of pixels go somewhat above 1, as in
//               csbdeep's default. A few pixels at the format's ceiling (255, 65535; under 1%
//               of the image: a burned-in scale bar or text, hot pixels) are left out of the
//               percentiles; more are saturated signal and count. A channel whose high percentile equals its low one (sparse
//               signal on an empty background) uses its maximum instead; a constant channel
//               becomes 0 (or, beside other channels, a weak channel: below).
//   range       0 .. 2^bits - 1 maps to 0 .. 1, with `bits` the image's effective bit depth (at
//               least 8) unless NormalizeSpec::bits fixes it: 12-bit data stored in 16-bit files
//               is divided by 4095, 8-bit files by 255 (today's behaviour for full-range data).
//   fixed       `min` .. `max` map to 0 .. 1 (values outside are not clipped).
//
// A channel that carries next to no signal (its range under 5% of the widest channel's: the
// empty red and blue of a DAPI or GFP image exported as RGB, a constant channel) takes the
// mean of the other channels after normalisation, so a one-colour image reaches the network
// as the grey image it holds. Stretched to 0..1 on its own it would be zeros or amplified
// noise, an input no training image resembles (a green-only copy of grey fluorescence scored
// 0.08-0.17 against 0.38-0.58). Only percentile ranges differ between channels this way.
//
// The two-step form (normalize_ranges, then apply_normalization) lets tiled inference compute
// the ranges once on the whole image and apply them to each tile.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"

namespace nucseg::io {

enum class NormalizeKind { percentile, range, fixed };

struct NormalizeSpec {
  NormalizeKind kind = NormalizeKind::percentile;
  double low = 1.0;    // percentile mapped to 0
  double high = 99.8;  // percentile mapped to 1
  double min = 0.0;    // fixed: raw value mapped to 0
  double max = 255.0;  // fixed: raw value mapped to 1
  int bits = 0;        // range: 0 = the image's effective bit depth (at least 8), else 1..16
};

// "percentile", "range", "fixed"; parse throws Error(config) naming `key` for anything else.
const char* normalize_kind_name(NormalizeKind kind);
NormalizeKind parse_normalize_kind(const std::string& name, const std::string& key);

// data.normalize with data.normalize_low/high/min/max. The second form is infer's: its
// infer.normalize kind with the data.normalize_* values (infer.normalize = "" is the
// checkpoint's choice, which the caller resolves: Error(config) here).
NormalizeSpec normalize_spec(const DataConfig& data);
NormalizeSpec normalize_spec(const std::string& kind, const DataConfig& data, const std::string& key);

// One line for logs and records, e.g. "percentile 1 99.8", "range", "range 12 bits", "fixed 100 4000".
std::string describe(const NormalizeSpec& spec);

// Bits needed for the largest sample over all channels: 4095 -> 12, 255 -> 8, 256 -> 9;
// 1 for an all-zero image. Accepts 8-, 16- and 32-bit integer images (negative values count
// as 0).
int effective_bit_depth(const cv::Mat& image);

// The raw value mapped to 0 (`lo`) and the one mapped to 1 (`hi`) for one channel; hi == lo
// means the channel becomes 0 (alone; beside wider channels it is weak and filled, above).
struct ChannelRange {
  double lo = 0.0;
  double hi = 1.0;
};

// Per channel of a CV_8UC(n) / CV_16UC(n) image (n >= 1); Error(runtime) for other types.
// Percentiles come from a histogram (one pass, no sort).
std::vector<ChannelRange> normalize_ranges(const cv::Mat& image, const NormalizeSpec& spec);

// (x - lo) / (hi - lo) per channel -> CV_32FC(n), weak channels filled (above). `ranges` has
// one entry per channel.
cv::Mat apply_normalization(const cv::Mat& image, const std::vector<ChannelRange>& ranges);

// Fixed normalisation names the file's own values (data.normalize_min/max); an image whose
// values were mapped on reading (`converted` of io::RawImage: a 32-bit float TIFF) no longer
// holds them. Error(data) naming `file` and `key` (the key that chose `spec`) in that case.
void check_fixed_normalization(const NormalizeSpec& spec, const std::string& converted, const std::string& file,
                               const std::string& key);

// normalize_ranges then apply_normalization.
cv::Mat normalize_image(const cv::Mat& image, const NormalizeSpec& spec);

}  // namespace nucseg::io
