#include "image_pass.hpp"

#include <chrono>

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/infer/magnification.hpp"
#include "auto_pass.hpp"

namespace nucseg::infer::detail {
namespace {

// An image read and planned into tile batches at one scale: what the owner and its helpers
// derive alike.
struct TiledImage {
  LoadedImage image;
  double scale = 1.0;     // network pixels per input pixel
  cv::Mat network_input;  // image.rgb at scale 1, else the normalised image resized by `scale`
  TilerOptions tiling;
  TilePlan plan;

  void compute(const Stages& stages, size_t index, std::vector<float>& logits) const {
    compute_tile_batch(network_input, plan, index, tiling, stages.model, logits);
  }
  // At scale 1 the tiler normalises tile by tile (no full-image float copy); a rescale needs
  // the normalised image, resized as a whole.
  void plan_at(double s) {
    scale = s;
    network_input = s == 1.0 ? image.rgb : resize_by(io::apply_normalization(image.rgb, image.ranges), s);
    plan = plan_tiles(network_input, tiling);
  }
};

TiledImage read_tiled(const InferConfig& config, const Stages& stages, const std::string& path, double scale) {
  TiledImage t;
  t.image = stages.read(path);
  if (t.image.rgb.empty() || t.image.rgb.channels() != 3) throw_data(path, "image reader returned no RGB image");
  if (t.image.ranges.size() != 3) throw_data(path, "image reader returned no normalisation ranges");
  t.tiling.tile = config.tile;
  t.tiling.overlap = config.overlap;
  t.tiling.batch = config.batch;
  t.tiling.classes = stages.classes;
  t.tiling.extras = stages.extras;
  t.tiling.ranges = t.image.ranges;
  t.plan_at(scale);
  return t;
}

// Adds the seconds since its last call (or its construction) to a stage's counter.
class Lap final {
 public:
  void operator()(double& into) {
    into += std::chrono::duration<double>(Clock::now() - t_).count();
    t_ = Clock::now();
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point t_ = Clock::now();
};

// The network over `tiled` with its tile batches shared with idle ranks (TileSharing) when
// `shareable`; finished rows of probabilities at the input's size go to `sink`.
void run_network(long index, const TiledImage& tiled, const Stages& stages, TileSharing& sharing, bool shareable,
                 const RowSink& sink) {
  const TilePlan& plan = tiled.plan;
  const cv::Size size = tiled.image.rgb.size();
  std::vector<cv::Mat> at_network;  // rescaled: the whole probability maps, resized at the end
  RowSink network_sink = sink;
  if (tiled.scale != 1.0) {
    at_network.assign(static_cast<size_t>(stages.classes + stages.extras), cv::Mat());
    for (auto& m : at_network) m.create(tiled.network_input.size(), CV_32F);
    network_sink = [&](int y0, const std::vector<cv::Mat>& rows) {
      for (size_t k = 0; k < rows.size(); ++k) rows[k].copyTo(at_network[k].rowRange(y0, y0 + rows[k].rows));
    };
  }
  auto compute = [&](size_t i, std::vector<float>& logits) { tiled.compute(stages, i, logits); };
  const size_t floats_per_batch = static_cast<size_t>(tiled.tiling.batch) * tiled.tiling.outputs() *
                                  plan.grid.tile_height * plan.grid.tile_width;
  if (shareable && sharing.worth_sharing(index, plan.batches.size(), floats_per_batch)) {
    // Ranks without images of their own may take some of this image's batches.
    sharing.open(index, plan.batches.size());
    try {
      run_tiled_batches(plan, tiled.tiling, [&](size_t i, std::vector<float>& logits) { sharing.logits(i, compute, logits); },
                        network_sink);
    } catch (...) {
      sharing.close();
      throw;
    }
    sharing.close();
  } else {
    run_tiled_batches(plan, tiled.tiling, compute, network_sink);
  }
  if (tiled.scale != 1.0) sink(0, resize_planes(at_network, size));
}

// One pass at tiled.scale: the class map, (quantised) probabilities and instance labels of `r`,
// all at the input's size. Helpers can take batches only of the pass every rank can plan alike
// (`shareable`): the first one. For infer.diameter = "auto" on an image it may rescale, returns
// what chooses between the two passes (PassEvidence); else an empty one.
detail::PassEvidence segment_pass(const InferConfig& config, long index, const TiledImage& tiled, const Stages& stages,
                         TileSharing& sharing, bool shareable, ImageResult& r, Lap& lap, StageSeconds& spent) {
  // Finished rows of probabilities become the class map, the segment step's evidence and, when
  // asked for, quantised probabilities; at scale 1 full-image float maps never exist.
  const cv::Size size = tiled.image.rgb.size();
  segment::ClassEvidence evidence(size, params_at_input_scale(stages.segment_params, tiled.scale));
  r.class_map.create(size, CV_8UC1);
  // The class probabilities, then the distance and flow heads' maps.
  r.probabilities.assign(config.save_probabilities ? static_cast<size_t>(stages.classes + stages.extras) : 0, cv::Mat());
  for (auto& p : r.probabilities) p.create(size, CV_8UC1);
  const bool automatic = config.diameter.automatic && stages.training_diameter > 0;
  // A flow head's outputs, for "auto" only while it may rescale the image (auto_pass_fits):
  // larger images keep the streamed path's memory.
  evidence.keep_flow = automatic && auto_pass_fits(size, 1.0);
  ForegroundConfidence confidence;
  auto sink = [&](int y0, const std::vector<cv::Mat>& rows) {
    const cv::Range band(y0, y0 + rows[0].rows);
    evidence.add_rows(y0, rows);
    const std::vector<cv::Mat> classes(rows.begin(), rows.begin() + stages.classes);
    argmax_class_map(classes).copyTo(r.class_map.rowRange(band));
    if (automatic) confidence.add(classes);  // else unused
    for (size_t k = 0; k < r.probabilities.size(); ++k) {
      cv::Mat dst = r.probabilities[k].rowRange(band);
      rows[k].convertTo(dst, CV_8U, 255.0);
    }
  };
  run_network(index, tiled, stages, sharing, shareable, sink);
  lap(spent.network);
  r.labels = stages.segment(evidence);
  if (r.labels.type() != CV_32SC1 || r.labels.size() != size)
    throw_runtime("segmentation returned labels of the wrong type or size", r.source_path);
  r.scale = tiled.scale;
  detail::PassEvidence pass;
  pass.confidence = confidence.value();
  if (evidence.keep_flow) {  // shares the planes (empty without a flow head)
    pass.flow_y = evidence.flow_y;
    pass.flow_x = evidence.flow_x;
  }
  lap(spent.instances);
  return pass;
}

}  // namespace

ImageResult process_one(const InferConfig& config, double first_scale, long index, const InputItem& item,
                        const Stages& stages, TileSharing& sharing, StageSeconds& spent) {
  Lap lap;
  // Taken before the read: a file replaced while it is read is recorded as the older one, so
  // the next run redoes it rather than keep a result of pixels no longer there.
  const SourceIdentity source = source_identity(item.path);
  TiledImage tiled = read_tiled(config, stages, item.path, first_scale);
  const LoadedImage& image = tiled.image;
  lap(spent.read);
  ImageResult r;
  r.id = item.id;
  r.source_path = item.path;
  r.source = source;
  r.relative = item.relative;
  r.bit_depth = image.bit_depth;
  r.effective_bits = image.effective_bits;
  r.source_channels = image.source_channels;
  r.pixel_size = choose_pixel_size(config.pixel_size, image.pixel_size);
  detail::PassEvidence native = segment_pass(config, index, tiled, stages, sharing, true, r, lap, spent);
  // "auto" may ask for a second pass at another scale (auto_pass.hpp): only this rank plans it,
  // so no helper takes its batches.
  auto second_pass = [&](double scale, ImageResult& rescaled) {
    tiled.plan_at(scale);
    const detail::PassEvidence second = segment_pass(config, index, tiled, stages, sharing, false, rescaled, lap, spent);
    const PassQuality q = detail::pass_quality(second, rescaled.labels);
    lap(spent.instances);
    return q;
  };
  detail::choose_auto_pass(config, stages.training_diameter, item.id, image.rgb.size(), tiled.scale, native, r,
                           second_pass);
  r.objects = stages.measure(item.id, r.labels, image);
  lap(spent.measure);
  return r;
}

long help_others(const InferConfig& config, double first_scale, const InputSet& inputs, const Stages& stages,
                 TileSharing& sharing, const std::function<bool()>& stop) {
  TiledImage tiled;
  auto prepare = [&](long index) -> size_t {
    tiled = {};  // free the previous image first
    const auto& path = inputs.items.at(static_cast<size_t>(index)).path;
    try {
      tiled = read_tiled(config, stages, path, first_scale);
    } catch (const std::exception& e) {
      log::rank().warn("cannot help with {}: {}", path, e.what());
      tiled = {};
    }
    return tiled.plan.batches.size();
  };
  auto compute = [&](size_t i, std::vector<float>& logits) { tiled.compute(stages, i, logits); };
  return sharing.help_until_all_done(prepare, compute, stop);
}

}  // namespace nucseg::infer::detail
