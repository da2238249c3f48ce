// Photometric augmentation on normalised float images (see photometric.hpp). Colour changes are
// one 3x4 affine map per pixel (cv::transform); the others are single passes over the crop.
#include "photometric.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace nucseg::data {
namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
bool chance(std::mt19937_64& rng, double p) { return p > 0 && uniform(rng, 0.0, 1.0) < p; }

void to_luminance(cv::Mat& image) {
  // The weights of io::map_channels' "gray" (ITU-R 601), on RGB order.
  const cv::Matx33f m(0.299f, 0.587f, 0.114f, 0.299f, 0.587f, 0.114f, 0.299f, 0.587f, 0.114f);
  cv::transform(image, image, m);
}

// Hue rotation about the gray axis k = (1,1,1)/sqrt(3) (Rodrigues), saturation scaling away from
// it (M = s R + (1 - s) k k^T: gray stays gray), then per-channel gain and offset.
void colour_jitter(cv::Mat& image, double hue, double channel, std::mt19937_64& rng) {
  const double theta = hue > 0 ? uniform(rng, -hue, hue) * M_PI : 0.0;
  const double sat = hue > 0 ? std::exp(uniform(rng, -2 * hue, 2 * hue)) : 1.0;
  const cv::Matx33d P = cv::Matx33d::all(1.0 / 3.0);
  const double k = 1.0 / std::sqrt(3.0);
  const cv::Matx33d K(0, -k, k, k, 0, -k, -k, k, 0);  // cross-product matrix of k
  const cv::Matx33d R = std::cos(theta) * cv::Matx33d::eye() + std::sin(theta) * K + (1 - std::cos(theta)) * P;
  const cv::Matx33d M = sat * R + (1 - sat) * P;
  cv::Matx34f affine;
  for (int c = 0; c < 3; ++c) {
    const double gain = channel > 0 ? std::exp(uniform(rng, -channel, channel)) : 1.0;
    const double offset = channel > 0 ? uniform(rng, -channel / 2, channel / 2) : 0.0;
    for (int j = 0; j < 3; ++j) affine(c, j) = static_cast<float>(gain * M(c, j));
    affine(c, 3) = static_cast<float>(offset);
  }
  cv::transform(image, image, affine);
}

// One of the five channel orders other than the identity, uniformly: a colour image saved BGR
// as RGB, or a stain whose hues sit in other channels, is still the same scene.
void shuffle_channels(cv::Mat& image, std::mt19937_64& rng) {
  static const int orders[5][3] = {{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const int* order = orders[std::uniform_int_distribution<int>(0, 4)(rng)];
  const int from_to[] = {order[0], 0, order[1], 1, order[2], 2};
  cv::Mat out(image.size(), image.type());
  cv::mixChannels(&image, 1, &out, 1, from_to, 3);
  image = out;
}

template <class F>
void for_each_value(cv::Mat& image, F f) {
  for (int r = 0; r < image.rows; ++r) {
    float* p = image.ptr<float>(r);
    for (int c = 0, n = image.cols * image.channels(); c < n; ++c) p[c] = f(p[c]);
  }
}

// Variance a^2 + b^2 x: a read-out (Gaussian) part and a shot (Poisson-like) part growing with
// the intensity; a and b drawn per sample, so some crops stay almost clean.
void add_noise(cv::Mat& image, double strength, std::mt19937_64& rng) {
  const float a = static_cast<float>(uniform(rng, 0.0, strength)), b = static_cast<float>(uniform(rng, 0.0, strength));
  cv::Mat noise(image.size(), image.type());
  cv::RNG gen(rng());
  gen.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
  for (int r = 0; r < image.rows; ++r) {
    float* p = image.ptr<float>(r);
    const float* n = noise.ptr<float>(r);
    for (int c = 0, m = image.cols * image.channels(); c < m; ++c)
      p[c] += n[c] * std::sqrt(a * a + b * b * std::max(p[c], 0.0f));
  }
}

}  // namespace

void apply_photometric(cv::Mat& image, const AugmentParams& p, std::mt19937_64& rng) {
  bool gray = is_gray(image);
  if (!gray && chance(rng, p.gray)) {
    to_luminance(image);
    gray = true;
  }
  // Before the jitter, so hue and gain vary around every order, not around RGB alone.
  if (!gray && chance(rng, p.channel_shuffle)) shuffle_channels(image, rng);
  if (!gray && (p.hue_jitter > 0 || p.channel_jitter > 0)) colour_jitter(image, p.hue_jitter, p.channel_jitter, rng);
  // Bright-on-dark <-> dark-on-bright: fluorescence-like crops look like gray brightfield.
  if (gray && chance(rng, p.invert)) for_each_value(image, [](float v) { return 1.0f - v; });
  if (p.gamma > 0) {
    const float g = static_cast<float>(std::exp(uniform(rng, -p.gamma, p.gamma)));
    for_each_value(image, [g](float v) { return v > 0 ? std::pow(v, g) : v; });
  }
  if (p.contrast_jitter > 0 || p.intensity_jitter > 0) {
    const double gain = 1.0 + p.contrast_jitter * uniform(rng, -1.0, 1.0);
    const double shift = p.intensity_jitter * uniform(rng, -1.0, 1.0);
    const cv::Scalar m = cv::mean(image);
    const double mean = (m[0] + m[1] + m[2]) / 3.0;
    image.convertTo(image, CV_32FC3, gain, (1.0 - gain) * mean + shift);
  }
  if (chance(rng, p.blur)) {
    const double sigma = uniform(rng, 0.3, std::max(0.3, p.blur_sigma) + 1e-9);
    cv::GaussianBlur(image, image, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
  }
  if (p.noise > 0) add_noise(image, p.noise, rng);
}

}  // namespace nucseg::data
