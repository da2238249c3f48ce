#include "auto_pass.hpp"

#include "nucseg/core/logging.hpp"
#include "nucseg/segment/label_flows.hpp"
#include "nucseg/segment/nucleus_size.hpp"

namespace nucseg::infer::detail {

PassQuality pass_quality(const PassEvidence& pass, const cv::Mat& labels) {
  PassQuality q;
  q.confidence = pass.confidence;
  if (!pass.flow_y.empty()) q.flow_error = segment::flow_error(labels, pass.flow_y, pass.flow_x);
  return q;
}

void choose_auto_pass(const InferConfig& config, double training_diameter, const std::string& id, cv::Size size,
                      double first_scale, PassEvidence& native, ImageResult& r, const RescaledPass& second_pass) {
  const bool auto_possible = config.diameter.automatic && training_diameter > 0;
  const bool auto_fits = auto_pass_fits(size, 1.0);
  if (auto_possible && !auto_fits)
    log::rank().warn("{}: {}x{} pixels is more than \"auto\" rescales ({:.0f}; memory): kept at scale 1 unmeasured "
                     "(give infer.diameter as a number to rescale it)",
                     id, size.width, size.height, kAutoMaxPixels);
  if (!auto_possible || !auto_fits) return;
  // The first pass ran at native scale; its nuclei say how far this image is from the
  // training set's magnification.
  const double measured = segment::median_equivalent_diameter(r.labels);
  const double width = segment::foreground_diameter(r.labels);
  double scale = auto_scale(measured, width, training_diameter, !native.flow_y.empty());
  // The flow head's probe enlargement (by 2 for nuclei barely below the training size) may not
  // fit where the size alone asks for less: then the candidate is the one without the probe.
  if (!auto_pass_fits(size, scale)) scale = auto_scale(measured, width, training_diameter, false);
  log::rank().debug("{}: median nucleus diameter {:.1f} px, foreground width {:.1f} px at native scale, scale {:.3g}", id,
                    measured, width, scale);
  if (scale == kMinScale || scale == kMaxScale)
    log::rank().warn("{}: nuclei of {:.1f} px against {:.1f} px in training: rescale clamped to {:.3g}", id, measured,
                     training_diameter, scale);
  const bool fits = auto_pass_fits(size, scale);
  if (scale != first_scale && !fits)
    log::rank().warn("{}: nuclei of {:.1f} px against {:.1f} px in training, but a rescaled pass of a {}x{} image "
                     "at {:.3g} exceeds the memory \"auto\" allows ({:.0f} pixels): kept at scale 1 (give "
                     "infer.diameter as a number to rescale it)",
                     id, measured, training_diameter, size.width, size.height, scale, kAutoMaxPixels);
  if (scale == first_scale || !fits) return;
  // The size read from the first pass is only a hint: nuclei larger than the training
  // median that the network segments well at their own size read the same as magnified
  // ones it cuts into pieces, and small nuclei merged in clumps read as large. The rescaled
  // pass is kept only when its labels fit the network's own flow better, or for a network
  // without a flow head when the network is surer of its foreground there or the nuclei
  // are clearly small (auto_keeps_rescaled; docs/inference.md, measured in docs/benchmarks.md).
  // The first pass's flow error now, so its flow planes go before the second pass.
  const PassQuality first_q = pass_quality(native, r.labels);
  native = PassEvidence{};
  ImageResult rescaled = r;
  rescaled.labels.release();
  rescaled.class_map.release();
  rescaled.probabilities.clear();
  const PassQuality second_q = second_pass(scale, rescaled);
  const bool keep = auto_keeps_rescaled(first_q, second_q, auto_enlarges_surely(measured, training_diameter));
  log::rank().debug("{}: confidence {:.4f} / flow error {:.4f} at scale 1, {:.4f} / {:.4f} at scale {:.3g}: {}", id,
                    first_q.confidence, first_q.flow_error, second_q.confidence, second_q.flow_error, scale,
                    keep ? "rescaled" : "native kept");
  if (keep) r = std::move(rescaled);
}

}  // namespace nucseg::infer::detail
