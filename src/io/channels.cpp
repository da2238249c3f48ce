#include "nucseg/io/channels.hpp"

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& message) {
  throw Error(ErrorKind::data, message, {file, key, -1});
}

std::string channel_count(const RawImage& raw) {
  std::string text = std::to_string(raw.channels()) + " channel" + (raw.channels() == 1 ? "" : "s");
  if (raw.pages > 1) text += " in " + std::to_string(raw.pages) + " pages";
  if (raw.alpha) text += " (the last is alpha)";
  return text;
}

[[noreturn]] void ask_for_list(const RawImage& raw, const ChannelSpec& spec, const std::string& file,
                               const std::string& key) {
  fail(file, key,
       "the image has " + channel_count(raw) + ", which \"" + (spec.kind == ChannelSpec::Kind::rgb ? "rgb" : "gray") +
           "\" does not describe; set " + key + " to the channel(s) holding the nuclei, e.g. [0] (replicated) or "
           "[0, 1, 2]");
}

cv::Mat replicate(const cv::Mat& one) {
  cv::Mat out;
  cv::Mat planes[] = {one, one, one};
  cv::merge(planes, 3, out);
  return out;
}

cv::Mat channel(const cv::Mat& m, int i) {
  cv::Mat out;
  cv::extractChannel(m, out, i);
  return out;
}

cv::Mat first_three(const cv::Mat& m) {
  cv::Mat out(m.size(), CV_MAKETYPE(m.depth(), 3));
  int pairs[] = {0, 0, 1, 1, 2, 2};
  cv::mixChannels(&m, 1, &out, 1, pairs, 3);
  return out;
}

cv::Mat from_indices(const RawImage& raw, const std::vector<int>& indices, const std::string& file,
                     const std::string& key) {
  for (int i : indices)
    if (i < 0 || i >= raw.channels())
      fail(file, key,
           "channel index " + std::to_string(i) + " is out of range: the image has " + channel_count(raw) +
               " (indices 0.." + std::to_string(raw.channels() - 1) + ")");
  if (indices.size() == 1) return replicate(channel(raw.pixels, indices[0]));
  if (indices.size() != 3) fail(file, key, "a channel list needs 1 or 3 indices");
  cv::Mat out(raw.pixels.size(), CV_MAKETYPE(raw.pixels.depth(), 3));
  int pairs[] = {indices[0], 0, indices[1], 1, indices[2], 2};
  cv::mixChannels(&raw.pixels, 1, &out, 1, pairs, 3);
  return out;
}

}  // namespace

cv::Mat map_channels(const RawImage& raw, const ChannelSpec& spec, const std::string& file, const std::string& key) {
  const cv::Mat& m = raw.pixels;
  if (m.empty()) fail(file, key, "no pixels");
  if (m.depth() != CV_8U && m.depth() != CV_16U)
    fail(file, key, "only 8- and 16-bit images feed the network (32-bit samples are labels)");
  const int n = raw.channels();
  const bool gray_alpha = n == 2 && raw.alpha;
  const bool colour = n == 3 || (n == 4 && raw.pages == 1);
  switch (spec.kind) {
    case ChannelSpec::Kind::unset:
      fail(file, key, "no channel choice (an empty infer.channels means the checkpoint's: resolve it first)");
    case ChannelSpec::Kind::indices: return from_indices(raw, spec.indices, file, key);
    case ChannelSpec::Kind::rgb:
      if (n == 1 || gray_alpha) return replicate(n == 1 ? m : channel(m, 0));
      if (n == 3) return m.clone();
      if (colour) return first_three(m);
      ask_for_list(raw, spec, file, key);
    case ChannelSpec::Kind::gray:
      if (n == 1 || gray_alpha) return replicate(n == 1 ? m : channel(m, 0));
      if (colour) {
        cv::Mat luma;
        cv::cvtColor(n == 3 ? m : first_three(m), luma, cv::COLOR_RGB2GRAY);
        return replicate(luma);
      }
      ask_for_list(raw, spec, file, key);
  }
  fail(file, key, "unknown channel choice");
}

}  // namespace nucseg::io
