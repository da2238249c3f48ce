#include "nucseg/segment/instances.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/label_ops.hpp"

namespace nucseg::segment {
namespace {

void check_params(const SegmentParams& params) {
  if (!(params.seed_threshold >= 0.0 && params.seed_threshold < 1.0))
    throw_runtime("segment: seed_threshold must lie in [0, 1), got " + std::to_string(params.seed_threshold));
  if (params.min_area < 0) throw_runtime("segment: min_area must be >= 0, got " + std::to_string(params.min_area));
  if (!(params.min_solidity >= 0.0 && params.min_solidity <= 1.0))
    throw_runtime("segment: min_solidity must lie in [0, 1], got " + std::to_string(params.min_solidity));
  if (!(params.min_confidence >= 0.0 && params.min_confidence <= 1.0))
    throw_runtime("segment: min_confidence must lie in [0, 1], got " + std::to_string(params.min_confidence));
  if (params.interior_reach < 0)
    throw_runtime("segment: interior_reach must be >= 0, got " + std::to_string(params.interior_reach));
  if (params.core_seed_area < 0)
    throw_runtime("segment: core_seed_area must be >= 0, got " + std::to_string(params.core_seed_area));
  if (params.seed_distance < 1 || params.seed_distance > 1024)
    throw_runtime("segment: seed_distance must lie in [1, 1024], got " + std::to_string(params.seed_distance));
  if (params.flow_steps < 1 || params.flow_steps > 100000)
    throw_runtime("segment: flow_steps must lie in [1, 100000], got " + std::to_string(params.flow_steps));
  if (!(params.center_threshold > 0.0 && params.center_threshold < 1.0))
    throw_runtime("segment: center_threshold must lie in (0, 1), got " + std::to_string(params.center_threshold));
}

// A predicted hole inside a nucleus would otherwise turn it into a ring of distance peaks.
cv::Mat fill_mask_holes(const cv::Mat& mask) {
  cv::Mat labels;
  cv::Mat(mask != 0).convertTo(labels, CV_32S, 1.0 / 255.0);
  fill_holes(labels);
  return labels != 0;
}

cv::Mat distance_to_outside(const cv::Mat& mask) {
  cv::Mat d;
  cv::distanceTransform(mask, d, cv::DIST_L2, cv::DIST_MASK_5, CV_32F);
  return d;
}

void finish(const cv::Mat& fg, const SegmentParams& params, cv::Mat& markers) {
  label_unassigned(fg, markers);
  remove_small_objects(markers, params.min_area);
  fill_holes(markers);
  // After the holes are filled: a predicted hole does not make a nucleus ragged.
  remove_ragged_objects(markers, params.min_solidity);
  relabel_sequential(markers);
}

// elevation: CV_32FC1, the border probability (0..1).
cv::Mat interior_seeds(const cv::Mat& fg, const cv::Mat& core, const cv::Mat& elevation, const SegmentParams& params) {
  cv::Mat markers;
  // 4-connected seeds: interiors that touch only diagonally stay apart.
  cv::connectedComponents(core, markers, 4, CV_32S);
  remove_small_objects(markers, seed_min_area(params));
  flood_markers(elevation, fg, markers);
  finish(fg, params, markers);
  return markers;
}

// Clears the component of nonzero `mask` (CV_8UC1) pixels at `start` (4- or 8-connected) and
// calls visit(p) once per pixel. Breadth first: the queue holds about one front of the
// component (a side's length for a solid square), not half its pixels as a stack would.
template <typename Visit>
void clear_component(cv::Mat& mask, cv::Point start, int connectivity, std::deque<cv::Point>& queue, Visit&& visit) {
  mask.at<uchar>(start) = 0;
  queue.assign(1, start);
  while (!queue.empty()) {
    const cv::Point p = queue.front();
    queue.pop_front();
    visit(p);
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const cv::Point q(p.x + dx, p.y + dy);
        if ((dx == 0 && dy == 0) || (connectivity == 4 && dx != 0 && dy != 0)) continue;
        if (q.x < 0 || q.y < 0 || q.x >= mask.cols || q.y >= mask.rows || mask.at<uchar>(q) == 0) continue;
        mask.at<uchar>(q) = 0;
        queue.push_back(q);
      }
    }
  }
}

// A 4-connected component of the confident interior with at least min_pixels pixels and no seed
// in `markers` gets one at its deepest pixel (largest core_dist); new seeds are numbered from
// `count` on (count = the seeds so far + 1, as cv::connectedComponents returns it). The
// network drew such a component apart from its neighbours, so it is a nucleus of its own even
// where the foreground's distance map runs on across the cut into a larger neighbour and has no
// peak in it: a nucleus partly hidden behind another one, seen as a crescent. Extra memory: an
// 8-bit copy of `core` and one breadth-first front, not a full-image label map.
void seed_unseeded_cores(const cv::Mat& core, const cv::Mat& core_dist, int min_pixels, int count, cv::Mat& markers) {
  cv::Mat work = core.clone();
  std::deque<cv::Point> queue;
  for (int y = 0; y < work.rows; ++y) {
    const uchar* row = work.ptr<uchar>(y);
    for (int x = 0; x < work.cols; ++x) {
      if (row[x] == 0) continue;
      int area = 0;
      bool seeded = false;
      cv::Point deepest(x, y);  // the first pixel of largest core_dist in visiting order
      float depth = -1.0f;
      clear_component(work, cv::Point(x, y), 4, queue, [&](cv::Point p) {
        ++area;
        seeded = seeded || markers.at<int32_t>(p) > 0;
        if (core_dist.at<float>(p) > depth) {
          depth = core_dist.at<float>(p);
          deepest = p;
        }
      });
      if (!seeded && area >= min_pixels) markers.at<int32_t>(deepest) = count++;
    }
  }
}

cv::Mat distance_seeds(const cv::Mat& fg, const cv::Mat& core, const SegmentParams& params) {
  // Full-image float maps are the memory peak of a huge image: each is released (or reused in
  // place) as soon as it is no longer read.
  cv::Mat core_dist = distance_to_outside(core);
  cv::Mat dist = distance_to_outside(fg);
  dist += core_dist;
  // Light smoothing: single-pixel ripples of the distance map would otherwise each be a peak.
  cv::GaussianBlur(dist, dist, cv::Size(), 1.0);
  cv::GaussianBlur(core_dist, core_dist, cv::Size(), 1.0);
  const int k = 2 * params.seed_distance + 1;
  cv::Mat markers;
  int count = 0;  // seeds + 1 (connectedComponents counts the background)
  {
    cv::Mat local_max;
    cv::dilate(dist, local_max, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(k, k)));
    local_max -= 1e-4f;
    // Pixels equal to their neighbourhood's maximum; a plateau of them is one 8-connected seed.
    cv::Mat peaks = dist >= local_max;
    local_max.release();
    peaks &= fg;
    peaks.setTo(0, dist <= 0.0f);
    count = cv::connectedComponents(peaks, markers, 8, CV_32S);
  }
  if (params.core_seed_area > 0) seed_unseeded_cores(core, core_dist, params.core_seed_area, count, markers);
  // Growth follows the interior's distance map, so fronts meet in the predicted border band
  // (where it is 0); the full map's small share orders the pixels outside the interior.
  cv::Mat& elevation = dist;
  cv::addWeighted(core_dist, -1.0, dist, -static_cast<double>(0.1f), 0.0, elevation);  // = -core_dist - 0.1f * dist
  core_dist.release();
  flood_markers(elevation, fg, markers, 1024);
  elevation.release();
  finish(fg, params, markers);
  return markers;
}

// distance: CV_8UC1, the distance output x 255.
cv::Mat predicted_seeds(const cv::Mat& fg, const cv::Mat& distance, const SegmentParams& params) {
  cv::Mat seeds = distance > params.center_threshold * 255.0;
  seeds &= fg;
  cv::Mat markers;
  cv::connectedComponents(seeds, markers, 8, CV_32S);
  seeds.release();
  remove_small_objects(markers, seed_min_area(params));
  cv::Mat elevation;
  distance.convertTo(elevation, CV_32F, -1.0);
  flood_markers(elevation, fg, markers);
  elevation.release();
  finish(fg, params, markers);
  return markers;
}

// The predicted flow as unit-range vectors, 0 outside the foreground (f8: CV_8UC1, (1 + d) / 2 x 255).
cv::Mat flow_component(const cv::Mat& f8, const cv::Mat& fg) {
  cv::Mat v;
  f8.convertTo(v, CV_32F, 2.0 / 255.0, -1.0);
  v.setTo(0.0f, fg == 0);
  return v;
}

// The field (vy, vx) at (y, x), bilinear; one set of weights for both components.
cv::Vec2f bilinear(const cv::Mat& vy, const cv::Mat& vx, float y, float x) {
  const int y0 = static_cast<int>(y), x0 = static_cast<int>(x);
  const int y1 = std::min(y0 + 1, vy.rows - 1), x1 = std::min(x0 + 1, vy.cols - 1);
  const float ty = y - static_cast<float>(y0), tx = x - static_cast<float>(x0);
  const float w00 = (1 - ty) * (1 - tx), w01 = (1 - ty) * tx, w10 = ty * (1 - tx), w11 = ty * tx;
  auto at = [&](const cv::Mat& m) {
    const float* r0 = m.ptr<float>(y0);
    const float* r1 = m.ptr<float>(y1);
    return w00 * r0[x0] + w01 * r0[x1] + w10 * r1[x0] + w11 * r1[x1];
  };
  return {at(vy), at(vx)};
}

// fg: CV_8UC1 foreground; fy, fx: CV_8UC1 flow outputs. See SeedMode::flows.
cv::Mat flow_seeds(const cv::Mat& fg, const cv::Mat& fy, const cv::Mat& fx, const SegmentParams& params) {
  const int rows = fg.rows, cols = fg.cols;
  const cv::Mat vy = flow_component(fy, fg), vx = flow_component(fx, fg);
  std::vector<cv::Point> start;
  cv::findNonZero(fg, start);
  // Every foreground pixel's end point after flow_steps steps along the (bilinear) field.
  std::vector<cv::Point2f> end(start.size());
  const float ymax = static_cast<float>(rows - 1), xmax = static_cast<float>(cols - 1);
  for (size_t i = 0; i < start.size(); ++i) {
    float y = static_cast<float>(start[i].y), x = static_cast<float>(start[i].x);
    for (int step = 0; step < params.flow_steps; ++step) {
      const cv::Vec2f d = bilinear(vy, vx, y, x);
      y = std::min(std::max(y + d[0], 0.0f), ymax);
      x = std::min(std::max(x + d[1], 0.0f), xmax);
    }
    end[i] = cv::Point2f(x, y);
  }
  auto cell = [](const cv::Point2f& p) { return cv::Point(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))); };
  cv::Mat pile(rows, cols, CV_32F, cv::Scalar(0));
  for (const auto& p : end) pile.at<float>(cell(p)) += 1.0f;
  // End points within 1 px of a pixel; seeds are its 5 x 5 maxima with enough of them.
  cv::boxFilter(pile, pile, -1, cv::Size(3, 3), cv::Point(-1, -1), /*normalize=*/false);
  cv::Mat markers;
  {
    cv::Mat local_max;
    cv::dilate(pile, local_max, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)));
    cv::Mat peaks = (pile >= local_max) & (pile >= static_cast<float>(std::max(2, seed_min_area(params))));
    cv::connectedComponents(peaks, markers, 8, CV_32S);
  }
  // Each seed takes the end points around it: a watershed of the pile, downhill from its peaks.
  const cv::Mat support = pile > 0.0f;
  pile *= -1.0f;  // the elevation: downhill from the peaks
  flood_markers(pile, support, markers);
  // Each pixel gets the seed of its end point; pixels whose end point no seed reached are left
  // to their neighbours (a flat flood over the foreground), then to finish().
  cv::Mat labels(rows, cols, CV_32SC1, cv::Scalar(0));
  for (size_t i = 0; i < start.size(); ++i) labels.at<int32_t>(start[i]) = markers.at<int32_t>(cell(end[i]));
  flood_markers(cv::Mat(rows, cols, CV_32F, cv::Scalar(0)), fg, labels);
  finish(fg, params, labels);
  return labels;
}

// The foreground (hole-free) without its pixels farther than `reach` px, along the foreground,
// from the confident interior `core`, except in foreground components (8-connected) that hold no
// interior at all: a small nucleus predicted as border only stays whole. Where a network calls a whole stained
// sheet "border" (a real IHC section: DAB in every cell body), the sheet is otherwise one
// foreground whose distance map peaks between the nuclei. `core` must lie inside `fg`; reach >= 1.
// Extra memory: two 8-bit maps and one breadth-first front.
cv::Mat limit_to_interior(const cv::Mat& fg, const cv::Mat& core, int reach) {
  // Within `reach` of the interior along the foreground: `reach` 3x3 dilations, crosses and
  // squares in turn (an octagon close to a disc), each kept inside the foreground, so a kept
  // pixel joins its interior through kept foreground (a patch across a background gap is not
  // reached and cannot become an object of its own).
  cv::Mat near = core.clone();
  const cv::Mat cross = cv::getStructuringElement(cv::MORPH_CROSS, cv::Size(3, 3));
  const cv::Mat square = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  for (int i = 0; i < reach; ++i) {
    cv::dilate(near, near, i % 2 == 0 ? cross : square);
    near &= fg;
  }
  if (cv::countNonZero(fg & ~near) == 0) return fg;
  // Clear every foreground component that holds interior: what stays set has none.
  cv::Mat without_core = fg.clone();
  std::deque<cv::Point> queue;
  for (int y = 0; y < fg.rows; ++y) {
    const uchar* c = core.ptr<uchar>(y);
    for (int x = 0; x < fg.cols; ++x)
      if (c[x] && without_core.at<uchar>(y, x)) clear_component(without_core, cv::Point(x, y), 8, queue, [](cv::Point) {});
  }
  // No hole filling after the limit: `fg` has none, so every hole of the result is dropped sheet
  // enclosed by the reach of nearby nuclei, which filling would put back.
  near |= without_core;  // both lie inside `fg` (core does, and each dilation was kept inside it)
  return near;
}

// fg, core: CV_8UC1 masks; border: CV_32FC1 border probability; distance, flow_y, flow_x: CV_8UC1 or empty.
cv::Mat grow_instances(const cv::Mat& fg_raw, const cv::Mat& core_raw, const cv::Mat& border, const cv::Mat& distance,
                       const SegmentParams& params, const cv::Mat& flow_y = cv::Mat(), const cv::Mat& flow_x = cv::Mat()) {
  cv::Mat fg = fill_mask_holes(fg_raw);
  const cv::Mat core = core_raw & fg;  // inside the limited foreground too: it starts the reach
  if (params.interior_reach > 0) fg = limit_to_interior(fg, core, params.interior_reach);
  if (params.seeds == SeedMode::flows) {
    if (flow_y.empty() || flow_x.empty())
      throw_runtime("segment: seeds = flows needs a network with a flow head (model.flow_head)");
    return flow_seeds(fg, flow_y, flow_x, params);
  }
  if (params.seeds == SeedMode::predicted) {
    if (distance.empty())
      throw_runtime("segment: seeds = predicted needs a network with a distance head (model.distance_head)");
    return predicted_seeds(fg, distance, params);
  }
  if (params.seeds == SeedMode::interior)
    return interior_seeds(fg, core, border.isContinuous() ? border : border.clone(), params);
  return distance_seeds(fg, core, params);
}

}  // namespace

SeedMode seed_mode_from_string(const std::string& name) {
  if (name == "interior") return SeedMode::interior;
  if (name == "distance") return SeedMode::distance;
  if (name == "predicted") return SeedMode::predicted;
  if (name == "flows") return SeedMode::flows;
  throw_runtime("segment: unknown seed mode '" + name + "' (expected distance, interior, predicted or flows)");
}

SegmentParams params_from_config(const SegmentConfig& config) {
  SegmentParams p;
  p.seed_threshold = config.seed_threshold;
  p.min_area = config.min_area;
  p.seeds = seed_mode_from_string(config.seeds);
  p.seed_distance = config.seed_distance;
  p.center_threshold = config.center_threshold;
  p.min_solidity = config.min_solidity;
  p.min_confidence = config.min_confidence;
  p.core_seed_area = config.core_seed_area;
  p.interior_reach = config.interior_reach;
  return p;
}

int seed_min_area(const SegmentParams& params) { return params.min_area >= 8 ? params.min_area / 4 : 1; }

ClassEvidence::ClassEvidence(cv::Size size, const SegmentParams& p)
    : params(p), foreground(size, CV_8UC1, cv::Scalar(0)), interior(size, CV_8UC1, cv::Scalar(0)) {
  check_params(params);
  if (params.seeds == SeedMode::interior) border.create(size, CV_32FC1);
  if (params.min_confidence > 0.0) confidence.create(size, CV_8UC1);
}

void ClassEvidence::add_rows(int y0, const std::vector<cv::Mat>& rows) {
  if (rows.size() < 3 || rows.size() > 6)
    throw_runtime("segment: expected 3 class probability maps (background, interior, border) and optionally the "
                  "distance and flow outputs, got " + std::to_string(rows.size()) + " maps");
  // Where the extra outputs are: 4 maps the distance, 5 the flow, 6 both (distance first).
  const int count = static_cast<int>(rows.size());
  const int distance_at = count == 4 || count == 6 ? 3 : -1, flow_at = count >= 5 ? count - 2 : -1;
  if (maps == 0) {
    maps = count;
    // Kept only where it is read: other seedings ignore the extra outputs (the flow is also
    // kept on request, keep_flow).
    if (distance_at >= 0 && params.seeds == SeedMode::predicted) distance.create(foreground.size(), CV_8UC1);
    if (flow_at >= 0 && (params.seeds == SeedMode::flows || keep_flow)) {
      flow_y.create(foreground.size(), CV_8UC1);
      flow_x.create(foreground.size(), CV_8UC1);
    }
  }
  if (count != maps)
    throw_runtime("segment: every row band must carry the same maps (the extra outputs in all or none)");
  const int n = rows[0].rows;
  for (const auto& r : rows)
    if (r.type() != CV_32FC1 || r.size() != rows[0].size())
      throw_runtime("segment: class probability maps must be CV_32FC1 of one size");
  if (rows[0].cols != foreground.cols || y0 < 0 || y0 + n > foreground.rows)
    throw_runtime("segment: probability rows [" + std::to_string(y0) + ", " + std::to_string(y0 + n) +
                  ") do not fit an image of " + std::to_string(foreground.rows) + " x " +
                  std::to_string(foreground.cols));
  if (n == 0) return;
  const cv::Range band(y0, y0 + n);
  cv::Mat fg = foreground.rowRange(band), core = interior.rowRange(band);
  cv::compare(rows[0], 0.5, fg, cv::CMP_LT);
  cv::compare(rows[1], params.seed_threshold, core, cv::CMP_GT);
  if (!border.empty()) rows[2].copyTo(border.rowRange(band));
  if (!confidence.empty()) {
    cv::Mat conf = confidence.rowRange(band);
    rows[0].convertTo(conf, CV_8U, -255.0, 255.0);  // (1 - P(background)) x 255, rounded
  }
  // 8-bit copies (a quarter of a float map each); convertTo saturates outside 0..1.
  if (!distance.empty()) {
    cv::Mat d = distance.rowRange(band);
    rows[static_cast<size_t>(distance_at)].convertTo(d, CV_8U, 255.0);
  }
  if (!flow_y.empty()) {
    cv::Mat fy = flow_y.rowRange(band), fx = flow_x.rowRange(band);
    rows[static_cast<size_t>(flow_at)].convertTo(fy, CV_8U, 255.0);
    rows[static_cast<size_t>(flow_at) + 1].convertTo(fx, CV_8U, 255.0);
  }
}

cv::Mat instances_from_evidence(const ClassEvidence& evidence) {
  check_params(evidence.params);
  if (evidence.foreground.empty()) return cv::Mat(evidence.foreground.size(), CV_32SC1);
  cv::Mat labels = grow_instances(evidence.foreground, evidence.interior, evidence.border, evidence.distance,
                                  evidence.params, evidence.flow_y, evidence.flow_x);
  // After the seeding's own clean-up: an object is judged whole, its filled holes included.
  if (!evidence.confidence.empty() &&
      remove_unsure_objects(labels, evidence.confidence, evidence.params.min_confidence) > 0)
    relabel_sequential(labels);
  return labels;
}

cv::Mat instances_from_probabilities(const std::vector<cv::Mat>& class_probs, const SegmentParams& params) {
  if (class_probs.size() < 3 || class_probs.size() > 6)
    throw_runtime("instances_from_probabilities: expected 3 class probability maps (+ the extra outputs), got " +
                  std::to_string(class_probs.size()));
  ClassEvidence evidence(class_probs[0].size(), params);
  evidence.add_rows(0, class_probs);
  return instances_from_evidence(evidence);
}

cv::Mat instances_from_classes(const cv::Mat& class_map, const SegmentParams& params) {
  check_params(params);
  if (class_map.type() != CV_8UC1) throw_runtime("instances_from_classes: class map must be CV_8UC1");
  if (class_map.empty()) return cv::Mat(class_map.size(), CV_32SC1);
  double hi = 0;
  cv::minMaxLoc(class_map, nullptr, &hi);
  if (hi > 2) throw_runtime("instances_from_classes: class values must be 0, 1 or 2, found " + std::to_string(static_cast<int>(hi)));
  cv::Mat border;  // only interior mode grows along the border
  if (params.seeds == SeedMode::interior) cv::Mat(class_map == 2).convertTo(border, CV_32F, 1.0 / 255.0);
  return grow_instances(class_map != 0, class_map == 1, border, cv::Mat(), params);
}

}  // namespace nucseg::segment
