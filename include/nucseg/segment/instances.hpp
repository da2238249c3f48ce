// Nucleus instances from the network's 3-class output (background / interior / border).
//
// The foreground is background probability < 0.5 (holes filled), without its pixels farther than
// interior_reach from the confident interior in components that hold some (when > 0). Four ways to place the seeds
// that then grow over the foreground (a marker watershed, or the flow's own grouping):
// - SeedMode::interior: one seed per 4-connected component of confident interior
//   (interior probability > seed_threshold); growth follows the border probability, so a
//   predicted border band splits touching nuclei exactly along its middle. Best when the
//   network's border band is reliable (near-perfect class maps score ~1.0).
// - SeedMode::distance: seeds are the peaks (closer than seed_distance pixels merge) of the
//   sum of two Euclidean distance transforms, of the foreground and of the confident interior;
//   growth follows the interior's distance map (fronts meet in the predicted border band). A predicted border band is a valley of the second term;
//   where the band is incomplete (a faint contact, a network trained for minutes) the first
//   term still gives each round nucleus its own peak, as the classical watershed does. It
//   scored higher with the demo's network (docs/eval.md has the numbers). A 4-connected
//   component of the confident interior with at least core_seed_area pixels and no peak gets a
//   seed at its deepest point: the network cut it off, though the foreground's distance map runs
//   on into a neighbour (a nucleus partly hidden behind another, seen as a crescent).
// - SeedMode::predicted: for a network with a distance head (model.distance_head), whose 4th
//   output is each nucleus' distance to its own boundary normalised to 1 at its centre. Seeds
//   are the 8-connected components of that map above center_threshold inside the foreground;
//   growth runs down its slopes. Touching nuclei are separated by the map's valley between
//   their centres even where the class map has no border band between them.
// - SeedMode::flows: for a network with a flow head (model.flow_head), whose last two outputs
//   are per pixel the unit vector (dy, dx) to its nucleus' centre (Cellpose-style). Every
//   foreground pixel follows the predicted field for flow_steps unit-speed steps; the paths'
//   end points pile up at the centres. Peaks of that pile (at least max(2, seed_min_area) end
//   points within 1 px, the highest in 5 x 5) are the seeds; each seed takes the end points around
//   it (a watershed of the pile), and each pixel the seed of its own end point. Two touching
//   nuclei whose flows point apart across their contact separate even where the class map
//   shows no border between them; the class map only gives the foreground (and, with
//   interior_reach, its limit around the confident interior).
// Foreground no seed reaches becomes an object of its own; objects under min_area are removed,
// holes filled, objects under min_solidity removed (when > 0), labels renumbered 1..N in raster
// order. From probabilities (not from a hard class map), objects whose mean foreground
// probability (1 - P(background) over their pixels, filled holes included) is below
// min_confidence are then removed (when > 0) and the labels renumbered again.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"

namespace nucseg::segment {

enum class SeedMode { interior, distance, predicted, flows };

// Flow seeding: steps of one pixel each pixel takes along the predicted flow, in network pixels
// (beyond the radius of the largest nuclei the network is trained on; near a centre the flow
// fades and the end points stay put). SegmentParams::flow_steps is this at the input's scale.
constexpr int kFlowSteps = 50;

// "interior" / "distance" / "predicted" / "flows" (the segment.seeds key); anything else is a runtime
// error.
SeedMode seed_mode_from_string(const std::string& name);

struct SegmentParams {
  double seed_threshold = 0.5;  // interior probability of the "confident interior" (segment.seed_threshold)
  int min_area = 12;            // objects with fewer pixels are removed (segment.min_area)
  SeedMode seeds = SeedMode::distance;  // segment.seeds
  int seed_distance = 4;        // distance mode: peaks closer than this merge (segment.seed_distance)
  double center_threshold = 0.5;  // predicted mode: seed level of the distance output (segment.center_threshold)
  int flow_steps = kFlowSteps;    // flows mode: steps along the flow (infer::params_at_input_scale scales it)
  double min_solidity = 0.0;      // objects less convex than this are removed (segment.min_solidity; 0: none)
  double min_confidence = 0.75;   // objects with a lower mean P(foreground) are removed (segment.min_confidence; 0: none)
  int core_seed_area = 30;        // distance mode: an unseeded interior component this large gets a seed
                                  // (segment.core_seed_area; 0: none)
  int interior_reach = 6;         // foreground farther than this from the confident interior is dropped, in
                                  // components that hold interior (segment.interior_reach; 0: none)
};

// The [segment] keys; nucseg_infer and training's validation both read them.
SegmentParams params_from_config(const SegmentConfig& config);

// What the instance step reads of the class probabilities: its two masks, thresholded at full
// precision, and the border probability where interior seeding needs it. Built band by band
// (add_rows), so a caller that streams probabilities never holds full-image float maps
// (an 8192 x 8192 image: 805 MB for three).
struct ClassEvidence {
  ClassEvidence(cv::Size size, const SegmentParams& params);
  // rows[0..2]: CV_32FC1 background / interior / border probabilities of image rows [y0, y0 + n),
  // then a network's extra outputs as 0..1 maps: 4 maps, a distance head's normalised distance;
  // 5 maps, a flow head's (1 + dy) / 2 and (1 + dx) / 2; 6 maps, the distance then the flow.
  // Every call must pass the same number of maps. Predicted seeding without the distance, or
  // flow seeding without the flow, is Error(runtime) at instances_from_evidence.
  void add_rows(int y0, const std::vector<cv::Mat>& rows);

  SegmentParams params;
  cv::Mat foreground;  // CV_8UC1, 255 where P(background) < 0.5
  cv::Mat interior;    // CV_8UC1, 255 where P(interior) > params.seed_threshold
  cv::Mat border;      // CV_32FC1 P(border); interior seeding only, else empty
  cv::Mat distance;    // CV_8UC1 distance output x 255 (a quarter of a float map); predicted seeding only, else empty
  cv::Mat flow_y, flow_x;  // CV_8UC1 flow outputs x 255 ((1 + d) / 2); flow seeding or keep_flow only, else empty
  cv::Mat confidence;  // CV_8UC1 (1 - P(background)) x 255; when params.min_confidence > 0, else empty
  bool keep_flow = false;  // set before the first add_rows: keep a flow head's outputs whatever the seeding
                           // (infer's "auto" compares them with the labels: flow_error)
  int maps = 0;        // maps per row band, fixed by the first add_rows
};

// Labels (CV_32SC1, 0 background, 1..N objects) from evidence built with add_rows over every row.
cv::Mat instances_from_evidence(const ClassEvidence& evidence);

// class_probs[0..2]: CV_32FC1 background / interior / border probabilities (summing to 1),
// optionally the extra outputs (see ClassEvidence::add_rows). Returns CV_32SC1 labels, 0 background, 1..N objects.
cv::Mat instances_from_probabilities(const std::vector<cv::Mat>& class_probs, const SegmentParams& params);

// The same algorithm on a hard class map (CV_8UC1: 0 background, 1 interior, 2 border).
cv::Mat instances_from_classes(const cv::Mat& class_map, const SegmentParams& params);

// Seed components smaller than this are dropped (interior and predicted modes: usually noise
// inside one nucleus that would split it; their pixels are reached by a neighbouring seed);
// flows mode: a seed needs at least max(2, this) end points.
int seed_min_area(const SegmentParams& params);

}  // namespace nucseg::segment
