#include "nucseg/io/mask.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

bool constant(const cv::Mat& plane) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(plane, &lo, &hi);
  return lo == hi;
}

// The channels that carry the annotation: a channel that is the same everywhere carries none
// (a constant alpha, or white RGB over an alpha that holds the nuclei, as some drawing tools
// save them), and identical channels become one.
cv::Mat annotation_channels(const RawImage& mask) {
  cv::Mat m = mask.pixels;
  if (m.channels() == 1) return m;
  std::vector<cv::Mat> planes, varying;
  cv::split(m, planes);
  if (mask.alpha && constant(planes.back())) planes.pop_back();
  for (const auto& p : planes)
    if (!constant(p)) varying.push_back(p);
  if (!varying.empty()) planes = std::move(varying);  // else: a uniform mask, kept as it is
  for (size_t c = 1; c < planes.size(); ++c)
    if (cv::countNonZero(planes[c] != planes[0]) > 0) {
      cv::merge(planes, m);
      return m;
    }
  return planes[0];
}

// A binary mask whose edges were smoothed (anti-aliased drawing, resampling, a blur): its
// values between the background and its maximum are ramps across the outlines, each such
// pixel with a higher and a lower 8-neighbour. In a label image a nucleus is a plateau of one
// value: its inside has no higher or lower neighbour, and a small nucleus on its own (every
// pixel on its outline) has a lower but no higher one. Soft when at least 9 in 10 of the
// in-between pixels lie on a ramp.
bool soft_binary(const cv::Mat& m) {
  if (m.channels() != 1 || (m.depth() != CV_8U && m.depth() != CV_16U)) return false;
  double lo = 0, hi = 0;
  cv::minMaxLoc(m, &lo, &hi);
  if (hi <= 0) return false;
  cv::Mat mid = (m != hi) & (m != 0);
  const int n_mid = cv::countNonZero(mid);
  if (n_mid == 0) return false;
  cv::Mat low, high;
  cv::erode(m, low, cv::Mat());
  cv::dilate(m, high, cv::Mat());
  return 10 * cv::countNonZero(mid & (low < m) & (high > m)) >= 9 * n_mid;
}

// Foreground of a mask read as binary: non-zero, or above half of each channel's maximum
// where values between were smeared in (JPEG, soft edges), so that the smear neither grows
// the nuclei nor adds specks.
cv::Mat binary_foreground(const cv::Mat& m, bool smeared) {
  std::vector<cv::Mat> planes{m};
  if (m.channels() > 1) cv::split(m, planes);
  cv::Mat fg(m.size(), CV_8UC1, cv::Scalar(0));
  for (const auto& p : planes) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(p, &lo, &hi);
    cv::Mat on;
    if (smeared) cv::compare(p, hi / 2, on, cv::CMP_GT);
    else cv::compare(p, 0, on, cv::CMP_NE);
    fg |= on;
  }
  return fg;
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
  return binary_foreground(m, mask.format == "jpeg" || soft_binary(m));
}

cv::Mat labels_from_mask(const RawImage& mask, MaskKind kind, const std::string& file, MaskKind* used) {
  cv::Mat m = annotation_channels(mask);
  const int bits_per_pixel = m.channels() * static_cast<int>(m.elemSize1()) * 8;
  if (bits_per_pixel > 64)
    throw_data(file, "mask has " + std::to_string(m.channels()) + " distinct " + std::to_string(m.elemSize1() * 8) +
                         "-bit channels: too many to tell its nuclei apart (use one channel)");
  if (kind == MaskKind::labels) {  // as asked: no test of the mask's kind
    if (used) *used = kind;
    return instance_labels(m);
  }
  const bool smeared = mask.format == "jpeg" || soft_binary(m);
  if (kind == MaskKind::automatic)
    kind = !smeared && distinct_keys(m, 2).size() > 2 ? MaskKind::labels : MaskKind::binary;
  if (used) *used = kind;
  if (kind == MaskKind::labels) return instance_labels(m);
  cv::Mat labels;
  cv::connectedComponents(binary_foreground(m, smeared), labels, 8, CV_32S);
  return labels;
}

std::string annotation_doubt(const cv::Mat& labels) {
  CV_Assert(labels.type() == CV_32SC1);
  if (labels.empty()) return {};
  // Only an object on all four edges qualifies: try each label of the top row that also lies on
  // the other three, and count its area only then (one pass over the image at most per such label).
  const cv::Mat top = labels.row(0), bottom = labels.row(labels.rows - 1);
  const cv::Mat left = labels.col(0), right = labels.col(labels.cols - 1);
  auto on = [](const cv::Mat& line, int32_t id) { return cv::countNonZero(line == id) > 0; };
  std::unordered_set<int32_t> tried;
  const long pixels = static_cast<long>(labels.total());
  for (int x = 0; x < top.cols; ++x) {
    const int32_t id = top.at<int32_t>(0, x);
    if (id == 0 || !tried.insert(id).second) continue;
    if (!on(bottom, id) || !on(left, id) || !on(right, id)) continue;
    const long area = cv::countNonZero(labels == id);
    if (2 * area > pixels)
      return "one nucleus covers " + std::to_string(100 * area / pixels) +
             "% of the image and touches all four edges: an inverted mask (background non-zero), or nuclei drawn in "
             "a channel the others hide?";
  }
  return {};
}

}  // namespace nucseg::io
