// The photometric half of augment() (augment.hpp): operations on the normalised image alone.
// Internal to nucseg::data.
#pragma once

#include <random>

#include <opencv2/core.hpp>

#include "nucseg/data/augment.hpp"

namespace nucseg::data {

// In place on a CV_32FC3 image of normalised intensities (~0..1, not clipped): gray conversion,
// channel order, hue/saturation and channel gain/offset (colour images), inversion (gray images), gamma,
// contrast/brightness, blur and noise, each as `p` sets it (0: off), in that order.
void apply_photometric(cv::Mat& image, const AugmentParams& p, std::mt19937_64& rng);

}  // namespace nucseg::data
