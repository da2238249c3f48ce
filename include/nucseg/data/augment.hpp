// Training-time preparation of one sample: crop, normalisation, augmentation. The image and
// its targets (class map, instance labels) move together through every geometric step, so a
// pixel keeps its label (image: linear interpolation; targets: nearest).
//
// Order (docs/training.md): a random window of side crop / zoom is cut from the RAW image
// (reflect-padded when smaller; zoom log-uniform in [1/(1+s), 1+s]) and resized to the crop;
// the crop is normalised to float with the image's per-channel ranges (computed on the whole
// image, io/normalize.hpp); then flips, 90-degree rotations and a grid distortion (geometric),
// then on the image alone: random gray conversion (colour images), channel order, hue/saturation and
// per-channel gain/offset (colour), inversion (gray images), gamma, contrast/brightness,
// Gaussian blur and Poisson-Gaussian noise, all on normalised intensities (~0..1).
//
// Deterministic: every random draw comes from the generator passed in, and sample_seed()
// derives that generator's seed from (run seed, epoch, position) alone, so the result never
// depends on which worker thread prepared the sample.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/io/normalize.hpp"

namespace nucseg::data {

// One training sample in memory. image: CV_8UC3 or CV_16UC3 raw RGB before augment(),
// CV_32FC3 normalised after it; classes: CV_8UC1 (0 background, 1 interior, 2 border);
// labels: CV_32SC1 instance ids, may be empty.
struct Sample {
  cv::Mat image;
  cv::Mat classes;
  cv::Mat labels;
};

// Strengths and probabilities; 0 turns an operation off. The struct's defaults are all-off
// photometrics (what tests start from); the configuration's defaults turn them on (from()).
struct AugmentParams {
  int crop = 256;               // output side; 0 keeps the image size (no crop, no padding)
  bool flip = true;
  bool rotate90 = true;
  double scale_jitter = 0;      // zoom log-uniform in [1/(1+s), 1+s]
  double distort = 0;           // grid distortion: largest control-point shift, fraction of the side
  double gray = 0;              // probability: a colour image becomes its luminance
  double hue_jitter = 0;        // colour: hue rotated by up to +-h*180 deg, saturation x e^(+-2h)
  double channel_jitter = 0;    // colour: per-channel gain x e^(+-c) and offset +-c/2
  double channel_shuffle = 0;   // probability: a colour image's channels in one of the 5 other orders
  double invert = 0;            // probability: a gray image becomes 1 - x
  double gamma = 0;             // x^g with g = e^(+-gamma) (negative values kept as they are)
  double contrast_jitter = 0;   // contrast factor in [1 - c, 1 + c] around the image mean
  double intensity_jitter = 0;  // brightness shift up to +-this (normalised units)
  double blur = 0;              // probability of a Gaussian blur
  double blur_sigma = 1.5;      // its sigma, uniform in [0.3, blur_sigma] px
  double noise = 0;             // Poisson-Gaussian noise: sd sqrt(a^2 + b^2 x), a, b uniform in [0, noise]

  static AugmentParams from(const DataConfig& data);
};

// Seed of the generator for one sample: a hash of (seed, epoch, position in the epoch).
uint64_t sample_seed(uint64_t seed, long epoch, long position);

// The prepared copy of `raw` (not modified): cropped, normalised with `ranges` (one per channel,
// from the whole source image) and augmented; the image comes back CV_32FC3. Throws
// Error(data) on inconsistent input (sizes that differ, wrong types).
Sample augment(const Sample& raw, const std::vector<io::ChannelRange>& ranges, const AugmentParams& params,
               std::mt19937_64& rng);

// Pads every plane of `s` by reflection (image and targets alike, so they stay aligned) until
// it is at least `height` x `width`; the padding is split evenly between the two sides.
Sample pad_reflect_to(const Sample& s, int height, int width);

// True when the three channels of a CV_32FC3 or CV_8UC3/CV_16UC3 image are identical (a gray
// image replicated): the colour operations skip it and inversion may apply.
bool is_gray(const cv::Mat& image);

}  // namespace nucseg::data
