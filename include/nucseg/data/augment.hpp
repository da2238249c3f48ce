// Training-time augmentation of one sample: the image and its targets (class map, instance
// labels) move together through every geometric step, so a pixel keeps its label.
// Deterministic: every random draw comes from the generator passed in, and sample_seed()
// derives that generator's seed from (run seed, epoch, position) alone, so the result never
// depends on which worker thread prepared the sample.
#pragma once

#include <cstdint>
#include <random>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"

namespace nucseg::data {

// One training sample in memory. image: CV_8UC3 or CV_16UC3 RGB; classes: CV_8UC1
// (0 background, 1 interior, 2 border); labels: CV_32SC1 instance ids, may be empty.
struct Sample {
  cv::Mat image;
  cv::Mat classes;
  cv::Mat labels;
  int bit_depth = 8;  // significant bits of the image samples (8, 12, 16, ...)
};

struct AugmentParams {
  int crop = 256;               // output side; 0 keeps the image size (no crop, no padding)
  bool flip = true;
  bool rotate90 = true;
  double intensity_jitter = 0;  // brightness shift up to +-this fraction of the range
  double contrast_jitter = 0;   // contrast factor in [1 - c, 1 + c] around the image mean
  double scale_jitter = 0;      // zoom factor in [1 - s, 1 + s]

  static AugmentParams from(const DataConfig& data);
};

// Seed of the generator for one sample: a hash of (seed, epoch, position in the epoch).
uint64_t sample_seed(uint64_t seed, long epoch, long position);

// The augmented copy of `in` (which is not modified). Throws Error(data) on inconsistent
// input (sizes that differ, wrong types).
Sample augment(const Sample& in, const AugmentParams& params, std::mt19937_64& rng);

// Pads every plane of `s` by reflection (image and targets alike, so they stay aligned) until
// it is at least `height` x `width`; the padding is split evenly between the two sides.
Sample pad_reflect_to(const Sample& s, int height, int width);


}  // namespace nucseg::data
