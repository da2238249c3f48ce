#include "nucseg/infer/tta.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "nucseg/core/error.hpp"

namespace nucseg::infer {
namespace {

// The dihedral group of the square, as OpenCV operations on one plane. Transforms 4..7 swap
// the sides (h x w -> w x h); tiles are multiples of 32 both ways, so the network takes them.
enum Transform { identity, flip_lr, flip_ud, rotate_180, transpose, rotate_cw, rotate_ccw, anti_transpose };

bool swaps_sides(int t) { return t >= transpose; }

void apply(int t, const cv::Mat& src, cv::Mat& dst) {
  switch (t) {
    case identity: src.copyTo(dst); break;
    case flip_lr: cv::flip(src, dst, 1); break;
    case flip_ud: cv::flip(src, dst, 0); break;
    case rotate_180: cv::flip(src, dst, -1); break;
    case transpose: cv::transpose(src, dst); break;
    case rotate_cw: cv::rotate(src, dst, cv::ROTATE_90_CLOCKWISE); break;
    case rotate_ccw: cv::rotate(src, dst, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    case anti_transpose: {
      cv::Mat t_;
      cv::transpose(src, t_);
      cv::flip(t_, dst, -1);
      break;
    }
    default: throw_runtime("unknown TTA transform");
  }
}

// Every transform is its own inverse except the two quarter turns, which undo each other.
int inverse(int t) { return t == rotate_cw ? rotate_ccw : t == rotate_ccw ? rotate_cw : t; }

// Transforms the `planes` planes of h x w floats at `src` into `dst` (planes of the transformed size).
void transform_planes(int t, const float* src, int planes, int h, int w, float* dst) {
  const size_t plane = static_cast<size_t>(h) * w;
  const int oh = swaps_sides(t) ? w : h, ow = swaps_sides(t) ? h : w;
  for (int p = 0; p < planes; ++p) {
    const cv::Mat in(h, w, CV_32F, const_cast<float*>(src + p * plane));
    cv::Mat out(oh, ow, CV_32F, dst + p * plane);
    apply(t, in, out);  // writes in place: `out` has the right size and type
  }
}

// A flow head's (dy, dx) logits of a tile the network saw under transform t, already moved back
// to the tile's pixels: turned back into the tile's own directions. v = tanh(logit / 2), so
// negating a component negates its logit. With (y, x) -> (y', x') the transform's linear part:
// flips negate one or both, the transposes swap them, the quarter turns swap and negate one.
void unturn_flow(int t, float* fy, float* fx, size_t plane) {
  const bool swap = swaps_sides(t);
  // Signs of the result's dy and dx, each applied to the component it is taken from.
  float sy = 1.0f, sx = 1.0f;
  switch (t) {
    case identity: case transpose: break;
    case flip_lr: sx = -1.0f; break;
    case flip_ud: sy = -1.0f; break;
    case rotate_180: case anti_transpose: sy = sx = -1.0f; break;
    case rotate_cw: sy = -1.0f; break;   // (y, x) -> (x, h-1-y): dy = -dx', dx = dy'
    case rotate_ccw: sx = -1.0f; break;  // (y, x) -> (w-1-x, y): dy = dx', dx = -dy'
    default: throw_runtime("unknown TTA transform");
  }
  for (size_t i = 0; i < plane; ++i) {
    const float a = fy[i], b = fx[i];
    fy[i] = sy * (swap ? b : a);
    fx[i] = sx * (swap ? a : b);
  }
}

// acc += softmax over the classes, per pixel, of `logits` (classes planes of `plane` floats).
void add_softmax(const float* logits, int classes, size_t plane, float* acc) {
  std::vector<float> e(static_cast<size_t>(classes));
  for (size_t i = 0; i < plane; ++i) {
    float top = logits[i];
    for (int k = 1; k < classes; ++k) top = std::max(top, logits[k * plane + i]);
    float sum = 0.0f;
    for (int k = 0; k < classes; ++k) sum += (e[static_cast<size_t>(k)] = std::exp(logits[k * plane + i] - top));
    for (int k = 0; k < classes; ++k) acc[k * plane + i] += e[static_cast<size_t>(k)] / sum;
  }
}

}  // namespace

TtaMode parse_tta_mode(const std::string& name) {
  if (name == "off") return TtaMode::off;
  if (name == "flips") return TtaMode::flips;
  if (name == "dihedral") return TtaMode::dihedral;
  throw_config("infer.tta", "unknown test-time augmentation \"" + name + "\" (allowed: off, flips, dihedral)");
}

int tta_transform_count(TtaMode mode) { return mode == TtaMode::off ? 1 : mode == TtaMode::flips ? 4 : 8; }

TileModel with_tta(TileModel model, TtaMode mode, int classes, int extras) {
  if (mode == TtaMode::off) return model;
  const int transforms = tta_transform_count(mode);
  const int planes = classes + extras;
  // A flow head's two planes are the last ones (2 or 3 extras; 1 is a distance head alone).
  const int flow_at = extras >= 2 ? planes - 2 : -1;
  return [model = std::move(model), transforms, classes, planes, flow_at](const std::vector<float>& batch, int n, int h, int w,
                                                                 std::vector<float>& logits) {
    const size_t plane = static_cast<size_t>(h) * w, in_tile = 3 * plane, out_tile = static_cast<size_t>(planes) * plane;
    const size_t class_floats = static_cast<size_t>(classes) * plane;
    std::vector<float> input(batch.size()), output, back(out_tile), mean(out_tile * n, 0.0f);
    for (int t = 0; t < transforms; ++t) {
      const int th = swaps_sides(t) ? w : h, tw = swaps_sides(t) ? h : w;
      for (int i = 0; i < n; ++i) transform_planes(t, &batch[in_tile * i], 3, h, w, &input[in_tile * i]);
      output.assign(out_tile * n, 0.0f);
      model(input, n, th, tw, output);
      if (output.size() != out_tile * n) throw_runtime("model returned the wrong number of logits under TTA");
      for (int i = 0; i < n; ++i) {
        transform_planes(inverse(t), &output[out_tile * i], planes, th, tw, back.data());
        if (flow_at >= 0) unturn_flow(t, &back[flow_at * plane], &back[(flow_at + 1) * plane], plane);
        add_softmax(back.data(), classes, plane, &mean[out_tile * i]);
        float* extra = &mean[out_tile * i + class_floats];
        for (size_t j = 0; j < out_tile - class_floats; ++j) extra[j] += 1.0f / (1.0f + std::exp(-back[class_floats + j]));
      }
    }
    logits.resize(mean.size());
    for (int i = 0; i < n; ++i) {
      float* tile = &logits[out_tile * i];
      const float* m = &mean[out_tile * i];
      // log of the mean probability; the floor keeps a class no transform gave any weight finite.
      for (size_t j = 0; j < class_floats; ++j) tile[j] = std::log(std::max(m[j] / transforms, 1e-30f));
      // Extra outputs: the logit of the mean sigmoid, clamped so 0 and 1 stay finite.
      for (size_t j = class_floats; j < out_tile; ++j) {
        const float p = std::min(std::max(m[j] / transforms, 1e-6f), 1.0f - 1e-6f);
        tile[j] = std::log(p / (1.0f - p));
      }
    }
  };
}

}  // namespace nucseg::infer
