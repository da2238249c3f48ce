// Private to src/synth: the stain / signal planes of one image region before the optics, and
// the JPEG-like block compression applied after the camera. Every value is a function of the
// global pixel position, so regions of one image agree where they overlap.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "scene.hpp"

namespace nucseg::synth::detail {

// CV_32FC1 planes covering `ext` (image coordinates). a: the nuclear stain, signal or optical
// path; b: the second stain (histology: eosin, ihc: DAB), empty for one-stain styles;
// qa/qb: out-of-focus matter (defocused nuclei, junk), blurred more, empty when there is none.
struct Planes {
  cv::Rect ext;
  cv::Mat a, b, qa, qb;
};

bool has_two_stains(Style style);
bool has_out_of_focus(const Scene& scene);

// Allocates the planes for `ext` and paints background, cell bodies, nuclei and debris.
Planes paint_planes(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& ext);

// In place on a CV_32FC3 RGB image in [0, 1] whose top-left pixel is at image position
// `origin`: 8x8 block DCT quantisation with the JPEG tables at `quality` (1..100), blocks
// aligned to the image grid, in YCbCr. Blocks cut by the right/bottom image edge (`image`
// size) are padded by repeating the edge, so the result of a block does not depend on the
// region it is computed in; the region must start and end on block boundaries or image edges.
void jpeg_blocks(cv::Mat& rgb, cv::Point origin, cv::Size image, int quality);

}  // namespace nucseg::synth::detail
