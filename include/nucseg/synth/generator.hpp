// Synthetic nuclei images with exact instance labels: the demo and test data of nucseg (no
// real data can be downloaded where nucseg is built). Five imaging styles (fluorescence,
// brightfield, H&E, IHC, phase contrast), nuclei of varied size, shape and chromatin, clusters of
// touching and partly overlapping nuclei, defocus, camera noise, uneven illumination and debris
// (docs/synth.md). Every image is a pure function of (config, index).
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"

namespace nucseg::synth {

struct SynthSample {
  cv::Mat rgba;    // CV_8UC4, RGBA order (like the Kaggle DSB 2018 PNGs)
  cv::Mat labels;  // CV_32SC1, 0 background, 1..N, each nucleus one connected region
  std::string style;  // fluorescence, brightfield, histology, ihc, phase
  std::string id;     // stable, unique per (seed, index): synth-<seed>-<index>
};

// Image `index` of the dataset described by `config` (seed, style, sizes, density...).
// Deterministic for (config, index): independent of other images, threads and MPI ranks.
SynthSample generate_sample(const SynthConfig& config, int index);

// One square image of side `side` (e.g. 8192) for tiling tests. Nuclei are placed with a
// spatial grid and rendered tile by tile, so time and extra memory grow with the area only.
SynthSample generate_big_sample(const SynthConfig& config, int side);

// The id of image `index` / of the big image; safe as a file name.
std::string sample_id(const SynthConfig& config, int index);
std::string big_sample_id(const SynthConfig& config, int side);

// The style image `index` gets: config.style, or one drawn per image when it is "mixed".
std::string sample_style(const SynthConfig& config, int index);

}  // namespace nucseg::synth
