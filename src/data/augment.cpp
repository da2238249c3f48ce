// Augmentation: one random window of side crop / zoom is cut from the raw image (after reflect
// padding when the image is smaller), normalised to float and resized to the crop (image:
// linear, or area when shrinking; targets: nearest), flipped, rotated and distorted, and the
// image alone goes through the photometric steps (photometric.hpp). Cutting first keeps the
// cost proportional to the crop, not to the (possibly large) source; resizing after the
// normalisation keeps 8-bit data from being rounded twice.
#include "nucseg/data/augment.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "photometric.hpp"

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

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

// The random window of side crop / zoom (views into the planes, padded when needed).
Sample cut_window(const Sample& in, const AugmentParams& p, std::mt19937_64& rng) {
  double zoom = 1.0;  // > 1 magnifies: the window is smaller than the crop
  if (p.scale_jitter > 0) {
    const double a = std::log1p(p.scale_jitter);
    zoom = std::exp(uniform(rng, -a, a));
  }
  const int window = std::max(1, static_cast<int>(std::lround(p.crop / zoom)));
  Sample s = pad_reflect_to(in, window, window);
  const int y = std::uniform_int_distribution<int>(0, s.image.rows - window)(rng);
  const int x = std::uniform_int_distribution<int>(0, s.image.cols - window)(rng);
  const cv::Rect roi(x, y, window, window);
  return map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool) { b = a(roi); });
}

Sample resize_to(const Sample& s, int side) {
  if (s.image.rows == side && s.image.cols == side) return s;
  const int image_interp = s.image.rows > side ? cv::INTER_AREA : cv::INTER_LINEAR;
  return map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool is_image) {
    cv::resize(a, b, cv::Size(side, side), 0, 0, is_image ? image_interp : cv::INTER_NEAREST);
  });
}

Sample flip_and_rotate(Sample s, const AugmentParams& p, std::mt19937_64& rng) {
  if (p.flip) {
    const bool horizontal = uniform(rng, 0, 1) < 0.5, vertical = uniform(rng, 0, 1) < 0.5;
    const int code = horizontal && vertical ? -1 : horizontal ? 1 : 0;
    if (horizontal || vertical) s = map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool) { cv::flip(a, b, code); });
  }
  if (p.rotate90) {
    const int quarter = std::uniform_int_distribution<int>(0, 3)(rng);
    static const int codes[] = {0, cv::ROTATE_90_CLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_COUNTERCLOCKWISE};
    if (quarter != 0) s = map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool) { cv::rotate(a, b, codes[quarter]); });
  }
  return s;
}

// Grid distortion: control points every ~32 px move by up to `strength` x side (amplitude drawn
// per sample); the shifts are interpolated smoothly (bicubic) to every pixel and all planes are
// resampled through the same map (targets with nearest, so labels stay labels).
Sample distort(const Sample& s, double strength, std::mt19937_64& rng) {
  const int rows = s.image.rows, cols = s.image.cols;
  const int gy = std::max(2, rows / 32 + 1), gx = std::max(2, cols / 32 + 1);
  const double amplitude = uniform(rng, 0.0, strength) * std::max(rows, cols);
  cv::Mat dy(gy, gx, CV_32FC1), dx(gy, gx, CV_32FC1);
  for (int i = 0; i < gy; ++i)
    for (int j = 0; j < gx; ++j) {
      dy.at<float>(i, j) = static_cast<float>(uniform(rng, -amplitude, amplitude));
      dx.at<float>(i, j) = static_cast<float>(uniform(rng, -amplitude, amplitude));
    }
  cv::Mat map_y, map_x;
  cv::resize(dy, map_y, cv::Size(cols, rows), 0, 0, cv::INTER_CUBIC);
  cv::resize(dx, map_x, cv::Size(cols, rows), 0, 0, cv::INTER_CUBIC);
  for (int r = 0; r < rows; ++r) {
    float* my = map_y.ptr<float>(r);
    float* mx = map_x.ptr<float>(r);
    for (int c = 0; c < cols; ++c) {
      my[c] += static_cast<float>(r);
      mx[c] += static_cast<float>(c);
    }
  }
  return map_planes(s, [&](const cv::Mat& a, cv::Mat& b, bool is_image) {
    cv::remap(a, b, map_x, map_y, is_image ? cv::INTER_LINEAR : cv::INTER_NEAREST, cv::BORDER_REFLECT_101);
  });
}

template <class T>
bool planes_equal(const cv::Mat& m) {
  for (int r = 0; r < m.rows; ++r) {
    const T* p = m.ptr<T>(r);
    for (int c = 0; c < m.cols; ++c, p += 3)
      if (std::memcmp(p, p + 1, sizeof(T)) != 0 || std::memcmp(p, p + 2, sizeof(T)) != 0) return false;
  }
  return true;
}

}  // namespace

AugmentParams AugmentParams::from(const DataConfig& data) {
  AugmentParams p;
  p.crop = data.crop;
  p.flip = data.flip;
  p.rotate90 = data.rotate90;
  p.scale_jitter = data.scale_jitter;
  p.distort = data.distort;
  p.gray = data.gray;
  p.hue_jitter = data.hue_jitter;
  p.channel_jitter = data.channel_jitter;
  p.channel_shuffle = data.channel_shuffle;
  p.invert = data.invert;
  p.gamma = data.gamma;
  p.contrast_jitter = data.contrast_jitter;
  p.intensity_jitter = data.intensity_jitter;
  p.blur = data.blur;
  p.blur_sigma = data.blur_sigma;
  p.noise = data.noise;
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

bool is_gray(const cv::Mat& image) {
  switch (image.type()) {
    case CV_32FC3: return planes_equal<float>(image);
    case CV_8UC3: return planes_equal<uint8_t>(image);
    case CV_16UC3: return planes_equal<uint16_t>(image);
    default: throw_runtime("is_gray: expected a 3-channel image");
  }
}

Sample augment(const Sample& raw, const std::vector<io::ChannelRange>& ranges, const AugmentParams& p,
               std::mt19937_64& rng) {
  check_sample(raw);
  Sample s = p.crop > 0 ? cut_window(raw, p, rng) : raw;
  s.image = io::apply_normalization(s.image, ranges);
  if (p.crop > 0) s = resize_to(s, p.crop);
  s = flip_and_rotate(std::move(s), p, rng);
  if (p.distort > 0) s = distort(s, p.distort, rng);
  apply_photometric(s.image, p, rng);
  // Planes must own contiguous memory for the batch assembly.
  if (!s.image.isContinuous()) s.image = s.image.clone();
  if (!s.classes.isContinuous()) s.classes = s.classes.clone();
  if (!s.labels.empty() && !s.labels.isContinuous()) s.labels = s.labels.clone();
  return s;
}

}  // namespace nucseg::data
