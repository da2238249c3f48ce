#include "nucseg/io/mask.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

// The channels that carry the annotation: a constant alpha goes, identical channels become one.
cv::Mat annotation_channels(const RawImage& mask) {
  cv::Mat m = mask.pixels;
  if (mask.alpha && m.channels() > 1) {
    cv::Mat alpha;
    cv::extractChannel(m, alpha, m.channels() - 1);
    double lo = 0, hi = 0;
    cv::minMaxLoc(alpha, &lo, &hi);
    if (lo == hi) {
      std::vector<cv::Mat> planes;
      cv::split(m, planes);
      planes.pop_back();
      cv::merge(planes, m);
    }
  }
  if (m.channels() == 1) return m;
  std::vector<cv::Mat> planes;
  cv::split(m, planes);
  for (size_t c = 1; c < planes.size(); ++c)
    if (cv::countNonZero(planes[c].reshape(1) != planes[0].reshape(1)) > 0) return m;
  return planes[0];
}

// One 64-bit key per pixel: its channels' values side by side.
template <class T, class F>
void for_each_key(const cv::Mat& m, F&& f) {
  const int n = m.channels();
  for (int y = 0; y < m.rows; ++y) {
    const T* p = m.ptr<T>(y);
    for (int x = 0; x < m.cols; ++x, p += n) {
      uint64_t key = 0;
      for (int c = 0; c < n; ++c) key = (key << (8 * sizeof(T))) | static_cast<uint64_t>(static_cast<std::make_unsigned_t<T>>(p[c]));
      f(y, x, key);
    }
  }
}

template <class F>
void each_key(const cv::Mat& m, F&& f) {
  switch (m.depth()) {
    case CV_8U: for_each_key<uint8_t>(m, f); break;
    case CV_16U: for_each_key<uint16_t>(m, f); break;
    default: for_each_key<int32_t>(m, f); break;
  }
}

// Distinct pixel keys; stops once more than `limit` are found.
std::unordered_set<uint64_t> distinct_keys(const cv::Mat& m, size_t limit) {
  std::unordered_set<uint64_t> keys;
  // Scanning row by row keeps the early exit cheap for binary masks.
  for (int y = 0; y < m.rows && keys.size() <= limit; ++y)
    each_key(m.row(y), [&](int, int, uint64_t k) { keys.insert(k); });
  return keys;
}

cv::Mat instance_labels(const cv::Mat& m) {
  auto found = distinct_keys(m, SIZE_MAX);
  std::vector<uint64_t> keys(found.begin(), found.end());
  std::sort(keys.begin(), keys.end());
  std::unordered_map<uint64_t, int32_t> id;
  int32_t next = 1;
  for (uint64_t k : keys)
    if (k != 0) id[k] = next++;
  cv::Mat labels(m.size(), CV_32SC1, cv::Scalar(0));
  each_key(m, [&](int y, int x, uint64_t k) {
    if (k != 0) labels.at<int32_t>(y, x) = id[k];
  });
  return labels;
}

}  // namespace

const char* mask_kind_name(MaskKind kind) {
  switch (kind) {
    case MaskKind::automatic: return "auto";
    case MaskKind::labels: return "labels";
    case MaskKind::binary: return "binary";
  }
  return "?";
}

MaskKind parse_mask_kind(const std::string& name, const std::string& key) {
  if (name == "auto") return MaskKind::automatic;
  if (name == "labels") return MaskKind::labels;
  if (name == "binary") return MaskKind::binary;
  throw_config(key, "unknown mask kind \"" + name + "\" (allowed: auto, labels, binary)");
}

cv::Mat mask_foreground(const RawImage& mask) {
  cv::Mat m = annotation_channels(mask);
  cv::Mat fg = m.reshape(1, m.rows * m.cols) != 0;
  if (m.channels() > 1) cv::reduce(fg, fg, 1, cv::REDUCE_MAX);
  return fg.reshape(1, m.rows);
}

cv::Mat labels_from_mask(const RawImage& mask, MaskKind kind, const std::string& file, MaskKind* used) {
  cv::Mat m = annotation_channels(mask);
  const int bits_per_pixel = m.channels() * static_cast<int>(m.elemSize1()) * 8;
  if (bits_per_pixel > 64)
    throw_data(file, "mask has " + std::to_string(m.channels()) + " distinct " + std::to_string(m.elemSize1() * 8) +
                         "-bit channels: too many to tell its nuclei apart (use one channel)");
  if (kind == MaskKind::automatic)
    kind = mask.format != "jpeg" && distinct_keys(m, 2).size() > 2 ? MaskKind::labels : MaskKind::binary;
  if (used) *used = kind;
  if (kind == MaskKind::labels) return instance_labels(m);
  cv::Mat labels;
  cv::connectedComponents(mask_foreground(mask), labels, 8, CV_32S);
  return labels;
}

}  // namespace nucseg::io
