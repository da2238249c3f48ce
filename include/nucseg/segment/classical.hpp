// The classical reference pipeline, reported next to the network's score as a baseline:
// grayscale -> polarity detection -> Otsu threshold -> distance transform -> local maxima
// seeds -> watershed. No learning, no parameters to tune per dataset.
#pragma once

#include <opencv2/core.hpp>

namespace nucseg::segment {

struct ClassicalParams {
  double blur_sigma = 1.0;  // Gaussian smoothing before Otsu
  int min_distance = 4;     // seeds are distance maxima over a (2r+1)^2 square (pixels)
  double min_peak = 1.5;    // a seed's distance to the background (pixels) at least
  int min_area = 12;        // smaller objects are removed
};

// rgb: CV_8UC3 or CV_16UC3 (RGB), or single-channel CV_8U/CV_16U. Returns CV_32SC1 labels 1..N.
// Polarity: nuclei are taken to be the minority class of the Otsu split (they cover less than
// half of a typical image), so dark nuclei on bright background (brightfield, histology) and
// bright nuclei on dark background (fluorescence) both work.
cv::Mat classical_watershed(const cv::Mat& rgb, const ClassicalParams& params = {});

}  // namespace nucseg::segment
