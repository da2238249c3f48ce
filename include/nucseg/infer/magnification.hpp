// Magnification (infer.diameter): an image is resized by `scale` (network pixels per input
// pixel) so that its nuclei appear at the training set's median diameter, the size the network
// learned. The normalised float image is resized (INTER_AREA down, INTER_LINEAR up), the class
// probabilities are resized back to the input's size (INTER_AREA down, INTER_LINEAR up), and
// instances are computed there, so labels, objects and measurements are always in the input's
// own pixels.
//
// Why probabilities and not labels: resizing probabilities keeps the boundary between two
// classes where the interpolated probabilities cross, smooth at the input's resolution, and
// every nucleus keeps its own pixels; nearest-neighbour upscaling of labels found at a smaller
// network scale gives blocky outlines (a 2x2 block per network pixel), and downscaling labels
// drops or merges small and thin objects. The instance step then runs at the input's
// resolution: its pixel parameters (segment.min_area, segment.core_seed_area,
// segment.interior_reach, segment.seed_distance, flow seeding's steps) keep their
// meaning at the network scale, where the training data's nuclei live, by being converted
// (params_at_input_scale).
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/segment/instances.hpp"

namespace nucseg::infer {

constexpr double kMinScale = 0.1;   // the network sees at most 10x fewer pixels ...
constexpr double kMaxScale = 10.0;  // ... or 10x more per side
constexpr double kAutoTolerance = 1.2;  // "auto" rescales when the diameters differ by more than 20%
// Nuclei measured below this share of the training diameter are small enough to enlarge without
// the width and confidence checks (auto_enlarges_surely).
constexpr double kAutoSurelySmall = 0.75;
// A rescaled pass holds full-image floats at the input's and the network's size (the streamed
// scale-1 path does not): "auto" tries one only while both stay within this many pixels
// (4096 x 4096; an 8192 x 8192 image then keeps the streamed path's ~2.1 GiB peak).
constexpr double kAutoMaxPixels = 4096.0 * 4096.0;

// The scale every image starts with: training_diameter / spec.pixels for a number, 1 for 0 and
// "auto". Throws Error(config, infer.diameter) when a rescale is asked of a checkpoint that
// records no diameter (training_diameter 0), or the scale is outside [kMinScale, kMaxScale].
double initial_scale(const DiameterSpec& spec, double training_diameter);

// "auto" after the first pass found objects of median equivalent diameter `measured` (0: none)
// over a foreground of width `width` (segment::foreground_diameter): 1 while the ratio of
// `measured` to the training diameter is within kAutoTolerance, else training / measured
// clamped to [kMinScale, kMaxScale] -- except that, without `flow_check`, an enlargement needs
// the foreground to be narrow too (width below the training diameter). Small objects on a wide foreground are
// fragments of nuclei larger than the network knows, or debris among normal ones; enlarging
// would make the first worse (measured: 25,328 objects for 1,865 nuclei on 2x images), so
// such an image stays at scale 1. The width alone does not set the scale: crowded scenes
// read wider than their nuclei. The result is a candidate: inference keeps the rescaled pass
// only when auto_keeps_rescaled says so (src/infer/auto_pass.cpp, docs/inference.md). When
// auto_enlarges_surely, the scale is at least 2 whatever the width. With `flow_check` (a
// network with a flow head, whose flow error then decides) so is every image whose nuclei read
// smaller than the training diameter at all: small nuclei merged in clumps read near the
// training size, and the flow error turns down the enlargements that cut nuclei into pieces
// (docs/benchmarks.md, "twelfth pass").
double auto_scale(double measured, double width, double training_diameter, bool flow_check = false);

// True when the first pass's nuclei (median diameter `measured`, > 0) are below
// kAutoSurelySmall x the training diameter: the image is enlarged (by at least 2) and, for a
// network without a flow head, the enlarged pass is kept without comparing confidences.
// Measured on the tuning sets at half magnification (docs/benchmarks.md, "tenth pass"): the
// network was less confident at scale 2
// wherever that was tried, and the confidence check kept the native pass, yet gen_b seed 1
// at 0.5x scored 0.315 with every image at scale 2 against 0.224. Without a flow head, nuclei
// of 0.75-0.83x the training size keep both checks.
bool auto_enlarges_surely(double measured, double training_diameter);

// Whether "auto" may run the rescaled pass of an image of `input` size at `scale`: the input
// and the rescaled image both within kAutoMaxPixels.
bool auto_pass_fits(cv::Size input, double scale);

// What "auto" compares a rescaled pass with the native one by.
struct PassQuality {
  double confidence = 0.0;   // ForegroundConfidence of the pass
  double flow_error = -1.0;  // segment::flow_error of its labels against its flow (-1: no flow head, or no labels)
};

// A rescaled pass must lower the flow error by this much to be kept (chosen on the tuning sets,
// docs/benchmarks.md, "twelfth pass": 0 kept rescales that did not pay, 0.05 missed some that did).
constexpr double kFlowErrorMargin = 0.02;

// Whether "auto" keeps the rescaled pass. With a flow head (the first pass's flow error >= 0):
// when its labels fit the network's own flow better, by more than kFlowErrorMargin (a merge of
// two nuclei, or a nucleus cut in two, shows as flow pointing to another centre than its
// label's: the error rises at the magnification where the network merges or cuts); a second
// pass without labels is not kept. Measured on the tuning sets, this picks the better pass
// where the confidence rule did not (docs/benchmarks.md, "twelfth pass"). Without a flow head
// the older rule: when the nuclei are surely small (auto_enlarges_surely) or the network is
// more confident of its foreground at the new scale.
bool auto_keeps_rescaled(const PassQuality& native, const PassQuality& rescaled, bool surely_small);

// How sure the network is of what it calls nuclei: the mean, over the pixels whose background
// probability is below 0.5, of the highest class probability (0 without such pixels). For a
// network without a flow head, "auto" keeps a rescaled pass only when this is higher there than
// at scale 1 (auto_keeps_rescaled). Fed row bands of the class probabilities (CV_32FC1 planes,
// background first), in any order.
class ForegroundConfidence {
 public:
  void add(const std::vector<cv::Mat>& classes);
  double value() const { return pixels_ > 0 ? sum_ / pixels_ : 0.0; }

 private:
  double sum_ = 0;
  double pixels_ = 0;
};

// The segment parameters for instances computed at the input's resolution of an image run at
// `scale`: min_area / scale^2, core_seed_area / scale^2 and interior_reach / scale (each at least
// 1 while above 0), seed_distance / scale and flow_steps / scale (rounded; seed_distance and
// flow_steps at least 1).
segment::SegmentParams params_at_input_scale(const segment::SegmentParams& params, double scale);

// `size` at `scale`: each side rounded, at least 1 pixel.
cv::Size scaled_size(cv::Size size, double scale);

// An image (any channel count, normalised float) resized to scaled_size(image.size(), scale):
// INTER_AREA when shrinking, INTER_LINEAR when enlarging.
cv::Mat resize_by(const cv::Mat& image, double scale);

// Each plane resized to `size` (INTER_AREA when shrinking, INTER_LINEAR when enlarging).
std::vector<cv::Mat> resize_planes(const std::vector<cv::Mat>& planes, cv::Size size);

}  // namespace nucseg::infer
