// Private to src/infer: infer.diameter = "auto" for one image, between its first pass at native
// scale and its measurement. magnification.hpp has the rules (which scale, which pass to keep);
// this is the decision around them: measure the first pass's nuclei, run a second pass at the
// scale they ask for when it fits in memory, and keep the better of the two. The image pass
// (image_pass.hpp) runs the passes (RescaledPass), so this part knows nothing of tiles, ranks or
// tile sharing.
#pragma once

#include <functional>
#include <string>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/output.hpp"

namespace nucseg::infer::detail {

// What "auto" needs of a pass to choose between two: the network's confidence over its
// foreground, and with a flow head its flow (the segment step's 8-bit planes,
// ClassEvidence::keep_flow) for the flow error of the labels, computed only when a second pass
// is made (pass_quality).
struct PassEvidence {
  double confidence = 0.0;
  cv::Mat flow_y, flow_x;  // empty without a flow head, or when "auto" cannot rescale the image
};

PassQuality pass_quality(const PassEvidence& pass, const cv::Mat& labels);

// The second pass at `scale`: fills `rescaled` (a copy of the first pass's result without its
// labels, class map and probabilities) and returns its quality (pass_quality).
using RescaledPass = std::function<PassQuality(double scale, ImageResult& rescaled)>;

// For an image `id` of `size` whose first pass at `first_scale` left `r` and `native`: when
// config.diameter is "auto" and the checkpoint records a `training_diameter`, the scale its
// nuclei ask for (auto_scale); when that differs and fits (auto_pass_fits), `native` is released
// (its flow planes go before the second pass), `second_pass` runs, and `r` becomes its result if
// auto_keeps_rescaled. Otherwise `r` stays, with a warning where memory kept the image at scale 1.
void choose_auto_pass(const InferConfig& config, double training_diameter, const std::string& id, cv::Size size,
                      double first_scale, PassEvidence& native, ImageResult& r, const RescaledPass& second_pass);

}  // namespace nucseg::infer::detail
