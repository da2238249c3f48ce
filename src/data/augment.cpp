// Augmentation: one random window of side crop / zoom is cut (after reflect padding when the
// image is smaller), resized to the crop (image: linear, targets: nearest), flipped, rotated,
// and the image alone gets a brightness/contrast change. Cutting before resizing keeps the
// cost proportional to the crop, not to the (possibly large) source image.
#include "nucseg/data/augment.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/io/image.hpp"

namespace nucseg::data {
namespace {

void check_sample(const Sample& s) {
  if (s.image.empty()) throw_data("", "augment: empty image");
  if (s.image.type() != CV_8UC3 && s.image.type() != CV_16UC3)
    throw_data("", "augment: image must be CV_8UC3 or CV_16UC3");
  if (s.classes.type() != CV_8UC1 || s.classes.size() != s.image.size())
    throw_data("", "augment: class map must be CV_8UC1 of the image size");
  if (!s.labels.empty() && (s.labels.type() != CV_32SC1 || s.labels.size() != s.image.size()))
    throw_data("", "augment: labels must be CV_32SC1 of the image size");
}

// Applies the same geometric operation to every plane of the sample.
template <class Op>
Sample map_planes(const Sample& s, Op op) {
  Sample out;
  out.bit_depth = s.bit_depth;
  op(s.image, out.image, true);
  op(s.classes, out.classes, false);
  if (!s.labels.empty()) op(s.labels, out.labels, false);
  return out;
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

AugmentParams AugmentParams::from(const DataConfig& data) {
  AugmentParams p;
  p.crop = data.crop;
  p.flip = data.flip;
  p.rotate90 = data.rotate90;
  p.intensity_jitter = data.intensity_jitter;
  p.contrast_jitter = data.contrast_jitter;
  p.scale_jitter = data.scale_jitter;
  return p;
}

uint64_t sample_seed(uint64_t seed, long epoch, long position) {
  return mix(mix(mix(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(position));
}

Sample pad_reflect_to(const Sample& s, int height, int width) {
  int dy = std::max(0, height - s.image.rows), dx = std::max(0, width - s.image.cols);
  if (dy == 0 && dx == 0) return s;
  int top = dy / 2, left = dx / 2;
  // BORDER_REFLECT_101 folds repeatedly, so pads wider than the image work too; a 1-pixel
  // side degenerates to replication.
  return map_planes(s, [&](const cv::Mat& in, cv::Mat& out, bool) {
    cv::copyMakeBorder(in, out, top, dy - top, left, dx - left, cv::BORDER_REFLECT_101);
  });
}

Sample augment(const Sample& in, const AugmentParams& p, std::mt19937_64& rng) {
  check_sample(in);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Sample s = in;

  if (p.crop > 0) {
    double zoom = 1.0;
    if (p.scale_jitter > 0) zoom = 1.0 + p.scale_jitter * (2.0 * unit(rng) - 1.0);
    // The source window that becomes the crop after zooming by `zoom`.
    int window = std::max(1, static_cast<int>(std::lround(p.crop / zoom)));
    s = pad_reflect_to(s, window, window);
    int y = std::uniform_int_distribution<int>(0, s.image.rows - window)(rng);
    int x = std::uniform_int_distribution<int>(0, s.image.cols - window)(rng);
    cv::Rect roi(x, y, window, window);
    s = map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool is_image) {
      if (window == p.crop) {
        b = a(roi).clone();
      } else {
        cv::resize(a(roi), b, cv::Size(p.crop, p.crop), 0, 0, is_image ? cv::INTER_LINEAR : cv::INTER_NEAREST);
      }
    });
  }
  if (p.flip) {
    bool horizontal = unit(rng) < 0.5, vertical = unit(rng) < 0.5;
    int code = horizontal && vertical ? -1 : horizontal ? 1 : 0;
    if (horizontal || vertical)
      s = map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool) { cv::flip(a, b, code); });
  }
  if (p.rotate90) {
    int quarter = std::uniform_int_distribution<int>(0, 3)(rng);
    static const int codes[] = {0, cv::ROTATE_90_CLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_COUNTERCLOCKWISE};
    if (quarter != 0)
      s = map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool) { cv::rotate(a, b, codes[quarter]); });
  }
  if (p.intensity_jitter > 0 || p.contrast_jitter > 0) {
    double range = io::max_pixel_value(s.bit_depth);
    double gain = 1.0 + p.contrast_jitter * (2.0 * unit(rng) - 1.0);
    double shift = p.intensity_jitter * (2.0 * unit(rng) - 1.0) * range;
    double mean = 0;
    cv::Scalar m = cv::mean(s.image);
    mean = (m[0] + m[1] + m[2]) / 3.0;
    // out = gain * (in - mean) + mean + shift, saturated to the image's type; values above
    // the bit depth (16-bit container holding 12-bit data) are clipped afterwards.
    cv::Mat out;
    s.image.convertTo(out, s.image.type(), gain, (1.0 - gain) * mean + shift);
    if (s.image.depth() == CV_16U && range < 65535.0) cv::min(out, cv::Scalar::all(range), out);
    s.image = out;
  }
  // Planes must own contiguous memory for the batch assembly.
  if (!s.image.isContinuous()) s.image = s.image.clone();
  if (!s.classes.isContinuous()) s.classes = s.classes.clone();
  if (!s.labels.empty() && !s.labels.isContinuous()) s.labels = s.labels.clone();
  return s;
}

}  // namespace nucseg::data
