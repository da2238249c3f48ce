#include "nucseg/io/normalize.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

using Histogram = std::vector<uint64_t>;

template <class T>
std::vector<Histogram> histograms(const cv::Mat& m) {
  const int n = m.channels();
  std::vector<Histogram> h(static_cast<size_t>(n), Histogram(size_t{1} << (8 * sizeof(T)), 0));
  for (int y = 0; y < m.rows; ++y) {
    const T* p = m.ptr<T>(y);
    if (n == 1) {
      uint64_t* h0 = h[0].data();
      for (int x = 0; x < m.cols; ++x) ++h0[p[x]];
      continue;
    }
    for (int x = 0; x < m.cols; ++x, p += n)
      for (int c = 0; c < n; ++c) ++h[static_cast<size_t>(c)][p[c]];
  }
  return h;
}

// The value of rank `k` (0-based) in the sorted samples the histogram counts.
double value_at_rank(const Histogram& h, uint64_t k) {
  uint64_t seen = 0;
  for (size_t v = 0; v < h.size(); ++v) {
    seen += h[v];
    if (seen > k) return static_cast<double>(v);
  }
  return static_cast<double>(h.size() - 1);
}

// numpy.percentile's default ("linear"): position p/100 * (n - 1) between the sorted samples.
double percentile(const Histogram& h, uint64_t n, double p) {
  double pos = p / 100.0 * static_cast<double>(n - 1);
  auto k = static_cast<uint64_t>(std::floor(pos));
  double a = value_at_rank(h, k);
  if (k + 1 >= n) return a;
  double b = value_at_rank(h, k + 1);
  return a + (pos - static_cast<double>(k)) * (b - a);
}

double largest(const Histogram& h) {
  for (size_t v = h.size(); v-- > 0;)
    if (h[v]) return static_cast<double>(v);
  return 0.0;
}

std::vector<ChannelRange> percentile_ranges(const cv::Mat& m, double low, double high) {
  auto h = m.depth() == CV_8U ? histograms<uint8_t>(m) : histograms<uint16_t>(m);
  const uint64_t n = static_cast<uint64_t>(m.rows) * static_cast<uint64_t>(m.cols);
  std::vector<ChannelRange> out;
  for (auto& channel : h) {
    // A few pixels at the format's ceiling (255, 65535; under 1% of the image) are drawn over
    // it (a burned-in scale bar, text) or hot: no signal level. Left out of the percentiles, so
    // that 0.3% of white annotation does not become the 99.8th percentile. More of them are
    // saturated signal (overexposed nuclei, a white slide) and stay, as its top.
    const uint64_t ceiling = channel.back();
    const bool overlay = ceiling > 0 && 100 * ceiling < n;
    if (overlay) channel.back() = 0;
    const uint64_t counted = overlay ? n - ceiling : n;
    ChannelRange r{percentile(channel, counted, low), percentile(channel, counted, high)};
    if (r.hi <= r.lo) r.hi = largest(channel);  // sparse signal: do not flatten it to 0
    if (r.hi <= r.lo && overlay) r.hi = static_cast<double>(channel.size() - 1);
    out.push_back(r);
  }
  return out;
}

// q = (p - lo[c]) * scale[c] (lo maps to exactly 0), with the per-channel factors laid out
// along a whole row so the inner loop has no channel index and vectorises.
template <class T>
void apply(const cv::Mat& in, cv::Mat& out, const std::vector<float>& lo, const std::vector<float>& scale) {
  const size_t n = static_cast<size_t>(in.channels()), len = static_cast<size_t>(in.cols) * n;
  std::vector<float> row_lo(len), row_scale(len);
  for (size_t i = 0; i < len; ++i) {
    row_lo[i] = lo[i % n];
    row_scale[i] = scale[i % n];
  }
  const float* l = row_lo.data();
  const float* s = row_scale.data();
  for (int y = 0; y < in.rows; ++y) {
    const T* p = in.ptr<T>(y);
    float* q = out.ptr<float>(y);
    for (size_t i = 0; i < len; ++i) q[i] = (static_cast<float>(p[i]) - l[i]) * s[i];
  }
}

// A channel whose raw spread is below this share of the widest channel's carries next to no
// signal (see the header); synth's most tinted images stay above 0.085.
constexpr double kWeakChannelShare = 0.05;

// Weak channels of `ranges` (none when fewer than two channels, or when all are as wide).
std::vector<bool> weak_channels(const std::vector<ChannelRange>& ranges) {
  double widest = 0;
  for (const auto& r : ranges) widest = std::max(widest, r.hi - r.lo);
  std::vector<bool> weak(ranges.size(), false);
  if (ranges.size() < 2 || widest <= 0) return weak;
  for (size_t c = 0; c < ranges.size(); ++c) weak[c] = ranges[c].hi - ranges[c].lo < kWeakChannelShare * widest;
  return weak;
}

// Weak channels of a normalised image take the mean of the others.
void fill_weak_channels(cv::Mat& out, const std::vector<bool>& weak) {
  std::vector<cv::Mat> planes;
  cv::split(out, planes);
  cv::Mat mean(out.size(), CV_32FC1, cv::Scalar(0));
  int strong = 0;
  for (size_t c = 0; c < planes.size(); ++c)
    if (!weak[c]) mean += planes[c], ++strong;
  mean /= strong;
  for (size_t c = 0; c < planes.size(); ++c)
    if (weak[c]) mean.copyTo(planes[c]);
  cv::merge(planes, out);
}

void check_input(const cv::Mat& image, const char* what) {
  if (image.empty() || (image.depth() != CV_8U && image.depth() != CV_16U))
    throw_runtime(std::string(what) + ": expected a non-empty 8- or 16-bit unsigned image");
}

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

const char* normalize_kind_name(NormalizeKind kind) {
  switch (kind) {
    case NormalizeKind::percentile: return "percentile";
    case NormalizeKind::range: return "range";
    case NormalizeKind::fixed: return "fixed";
  }
  return "?";
}

NormalizeKind parse_normalize_kind(const std::string& name, const std::string& key) {
  if (name == "percentile") return NormalizeKind::percentile;
  if (name == "range") return NormalizeKind::range;
  if (name == "fixed") return NormalizeKind::fixed;
  throw_config(key, "unknown normalisation \"" + name + "\" (allowed: percentile, range, fixed)");
}

NormalizeSpec normalize_spec(const std::string& kind, const DataConfig& data, const std::string& key) {
  NormalizeSpec spec;
  spec.kind = parse_normalize_kind(kind, key);
  spec.low = data.normalize_low;
  spec.high = data.normalize_high;
  spec.min = data.normalize_min;
  spec.max = data.normalize_max;
  if (spec.kind == NormalizeKind::percentile && !(spec.low < spec.high))
    throw_config("data.normalize_high", "data.normalize_high must be larger than data.normalize_low");
  if (spec.kind == NormalizeKind::fixed && !(spec.min < spec.max))
    throw_config("data.normalize_max", "data.normalize_max must be larger than data.normalize_min");
  return spec;
}

NormalizeSpec normalize_spec(const DataConfig& data) { return normalize_spec(data.normalize, data, "data.normalize"); }

std::string describe(const NormalizeSpec& spec) {
  switch (spec.kind) {
    case NormalizeKind::percentile: return "percentile " + number(spec.low) + " " + number(spec.high);
    case NormalizeKind::range: return spec.bits > 0 ? "range " + std::to_string(spec.bits) + " bits" : "range";
    case NormalizeKind::fixed: return "fixed " + number(spec.min) + " " + number(spec.max);
  }
  return "?";
}

int effective_bit_depth(const cv::Mat& image) {
  if (image.empty()) return 1;
  if (image.depth() != CV_8U && image.depth() != CV_16U && image.depth() != CV_32S)
    throw_runtime("effective_bit_depth: expected an 8-, 16- or 32-bit integer image");
  double hi = 0;
  cv::minMaxLoc(image.reshape(1), nullptr, &hi);
  int bits = 1;
  while (bits < 32 && std::ldexp(1.0, bits) <= hi) ++bits;
  return bits;
}

std::vector<ChannelRange> normalize_ranges(const cv::Mat& image, const NormalizeSpec& spec) {
  check_input(image, "normalize_ranges");
  const auto n = static_cast<size_t>(image.channels());
  switch (spec.kind) {
    case NormalizeKind::percentile:
      if (!(spec.low >= 0 && spec.low < spec.high && spec.high <= 100))
        throw_runtime("normalize_ranges: percentiles " + number(spec.low) + ", " + number(spec.high) +
                      " are not 0 <= low < high <= 100");
      return percentile_ranges(image, spec.low, spec.high);
    case NormalizeKind::range: {
      int bits = spec.bits > 0 ? spec.bits : std::max(8, effective_bit_depth(image));
      if (bits > 16) throw_runtime("normalize_ranges: range of " + std::to_string(bits) + " bits");
      return std::vector<ChannelRange>(n, ChannelRange{0.0, std::ldexp(1.0, bits) - 1.0});
    }
    case NormalizeKind::fixed:
      if (!(spec.min < spec.max))
        throw_runtime("normalize_ranges: fixed range " + number(spec.min) + " .. " + number(spec.max) + " is empty");
      return std::vector<ChannelRange>(n, ChannelRange{spec.min, spec.max});
  }
  return {};
}

cv::Mat apply_normalization(const cv::Mat& image, const std::vector<ChannelRange>& ranges) {
  check_input(image, "apply_normalization");
  if (ranges.size() != static_cast<size_t>(image.channels()))
    throw_runtime("apply_normalization: " + std::to_string(ranges.size()) + " ranges for " +
                  std::to_string(image.channels()) + " channels");
  std::vector<float> lo, scale;
  for (const auto& r : ranges) {
    lo.push_back(static_cast<float>(r.lo));
    scale.push_back(r.hi > r.lo ? static_cast<float>(1.0 / (r.hi - r.lo)) : 0.0f);
  }
  cv::Mat out(image.size(), CV_32FC(image.channels()));
  if (image.depth() == CV_8U) apply<uint8_t>(image, out, lo, scale);
  else apply<uint16_t>(image, out, lo, scale);
  const auto weak = weak_channels(ranges);
  if (std::find(weak.begin(), weak.end(), true) != weak.end()) fill_weak_channels(out, weak);
  return out;
}

cv::Mat normalize_image(const cv::Mat& image, const NormalizeSpec& spec) {
  return apply_normalization(image, normalize_ranges(image, spec));
}

void check_fixed_normalization(const NormalizeSpec& spec, const std::string& converted, const std::string& file,
                               const std::string& key) {
  if (spec.kind != NormalizeKind::fixed || converted.empty()) return;
  throw_data(file, "holds " + converted + " on reading, so " + key + " = \"fixed\" (" + describe(spec) +
                       ", values of the file) does not apply; use \"percentile\" or \"range\", or store the image "
                       "as 8- or 16-bit integers");
}

}  // namespace nucseg::io
