#include "nucseg/infer/tiler.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nucseg/core/error.hpp"

namespace nucseg::infer {
namespace {

int round_up32(int v) { return (v + 31) / 32 * 32; }

// Tile origins along one axis of length `length`; `t` is the tile side used on that axis.
std::vector<int> axis_origins(int length, int t, int overlap) {
  if (length <= t) return {0};
  std::vector<int> origins;
  int stride = t - overlap;
  for (int p = 0; p + t < length; p += stride) origins.push_back(p);
  origins.push_back(length - t);  // the last tile shifted inward, so no padding is needed
  return origins;
}

// Tiles axis_origins() places along `length` at side `side`.
long origins_count(int length, int side, int overlap) {
  if (length <= side) return 1;
  return (length - side + (side - overlap) - 1) / (side - overlap) + 1;
}

// Copies one tile (reflect-padded where it passes the image edge) into `dst` as 3 normalised planes.
void extract_tile(const cv::Mat& image, int y, int x, int th, int tw, const std::vector<io::ChannelRange>& ranges,
                  float* dst) {
  int h = std::min(th, image.rows - y), w = std::min(tw, image.cols - x);
  cv::Mat region = image(cv::Rect(x, y, w, h));
  cv::Mat padded;
  if (h < th || w < tw) {
    cv::copyMakeBorder(region, padded, 0, th - h, 0, tw - w, cv::BORDER_REFLECT_101);
  } else {
    padded = region;
  }
  const cv::Mat unit = padded.depth() == CV_32F ? padded : io::apply_normalization(padded, ranges);
  const size_t plane = static_cast<size_t>(th) * tw;
  for (int r = 0; r < th; ++r) {
    const auto* src = unit.ptr<cv::Vec3f>(r);
    for (int c = 0; c < tw; ++c) {
      size_t i = static_cast<size_t>(r) * tw + c;
      dst[i] = src[c][0];
      dst[plane + i] = src[c][1];
      dst[2 * plane + i] = src[c][2];
    }
  }
}

// Weighted logits of the rows [y0, y0 + band) that tiles are still adding to.
class Band final {
 public:
  // planes = classes + extras: the class logits (softmax), then extra outputs' logits (sigmoid).
  Band(int classes, int planes, int rows, int width) : classes_(classes), planes_(planes), rows_(rows), width_(width) {
    acc_.assign(static_cast<size_t>(planes) * rows * width, 0.0f);
    weight_.assign(static_cast<size_t>(rows) * width, 0.0f);
  }

  void add(const float* logits, int y, int x, int th, int tw, int height, const std::vector<float>& wy,
           const std::vector<float>& wx) {
    const size_t plane = static_cast<size_t>(th) * tw;
    int rows = std::min(th, height - y), cols = std::min(tw, width_ - x);
    for (int r = 0; r < rows; ++r) {
      int br = y + r - y0_;
      float* wrow = &weight_[static_cast<size_t>(br) * width_ + x];
      for (int c = 0; c < cols; ++c) wrow[c] += wy[r] * wx[c];
      for (int k = 0; k < planes_; ++k) {
        float* arow = &acc_[(static_cast<size_t>(k) * rows_ + br) * width_ + x];
        const float* lrow = logits + k * plane + static_cast<size_t>(r) * tw;
        for (int c = 0; c < cols; ++c) arow[c] += wy[r] * wx[c] * lrow[c];
      }
    }
  }

  // Normalises rows [y0_, until), hands them to `sink`, and moves the band to start at `until`.
  void flush(int until, const RowSink& sink) {
    int n = until - y0_;
    if (n <= 0) return;
    std::vector<cv::Mat> out(static_cast<size_t>(planes_));
    for (auto& m : out) m.create(n, width_, CV_32F);
    std::vector<float> z(static_cast<size_t>(classes_));
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < width_; ++c) {
        float w = weight_[static_cast<size_t>(r) * width_ + c];
        float top = -INFINITY;
        for (int k = 0; k < classes_; ++k) {
          z[k] = acc_[(static_cast<size_t>(k) * rows_ + r) * width_ + c] / w;
          top = std::max(top, z[k]);
        }
        float sum = 0.0f;
        for (int k = 0; k < classes_; ++k) sum += (z[k] = std::exp(z[k] - top));
        for (int k = 0; k < classes_; ++k) out[k].at<float>(r, c) = z[k] / sum;
        for (int k = classes_; k < planes_; ++k)
          out[k].at<float>(r, c) = 1.0f / (1.0f + std::exp(-acc_[(static_cast<size_t>(k) * rows_ + r) * width_ + c] / w));
      }
    }
    sink(y0_, out);
    // Shift the unfinished rows up and clear the rows that become free.
    size_t keep = static_cast<size_t>(rows_ - n) * width_, moved = static_cast<size_t>(n) * width_;
    for (int k = 0; k < planes_; ++k) {
      float* base = &acc_[static_cast<size_t>(k) * rows_ * width_];
      std::memmove(base, base + moved, keep * sizeof(float));
      std::fill(base + keep, base + keep + moved, 0.0f);
    }
    std::memmove(weight_.data(), weight_.data() + moved, keep * sizeof(float));
    std::fill(weight_.begin() + static_cast<long>(keep), weight_.end(), 0.0f);
    y0_ = until;
  }

 private:
  int classes_, planes_, rows_, width_;
  int y0_ = 0;
  std::vector<float> acc_, weight_;
};

}  // namespace

TileGrid make_tile_grid(int height, int width, int tile, int overlap) {
  if (tile < 32 || tile % 32 != 0) throw_config("infer.tile", "must be a positive multiple of 32, got " + std::to_string(tile));
  if (overlap < 0 || overlap >= tile)
    throw_config("infer.overlap", "must be in [0, infer.tile), got " + std::to_string(overlap));
  if (height <= 0 || width <= 0) throw_runtime("empty image given to the tiler");
  const long budget = static_cast<long>(tile) * tile;
  // Every pair of sides (multiples of 32) whose tiles fit the budget, can advance (side >
  // overlap unless one tile covers the axis) and keep the network's context (at least half of
  // `tile`, or the whole axis); least total area wins, fewer tiles on a tie. The square tiles
  // of `tile` are one of the pairs, so no grid computes more than they would. (Without the
  // floor, overlap 0 made every tiling cost the same and thin strips won.)
  const int floor_side = std::max(32, tile / 2 / 32 * 32);
  const int min_h = std::min(round_up32(height), floor_side), min_w = std::min(round_up32(width), floor_side);
  int best_h = 0, best_w = 0;
  long best_cost = -1, best_tiles = 0;
  for (int sy = min_h; sy <= round_up32(height); sy += 32) {
    if (sy <= overlap && sy < round_up32(height)) continue;
    const long cy = origins_count(height, sy, overlap);
    for (int sx = min_w; sx <= round_up32(width) && static_cast<long>(sy) * sx <= budget; sx += 32) {
      if (sx <= overlap && sx < round_up32(width)) continue;
      const long tiles = cy * origins_count(width, sx, overlap), cost = tiles * sy * sx;
      if (best_cost < 0 || cost < best_cost || (cost == best_cost && tiles < best_tiles)) {
        best_cost = cost;
        best_tiles = tiles;
        best_h = sy;
        best_w = sx;
      }
    }
  }
  if (best_cost < 0) throw_runtime("no tile grid fits the image");  // unreachable: square tiles of `tile` do
  TileGrid g;
  g.height = height;
  g.width = width;
  g.tile_height = best_h;
  g.tile_width = best_w;
  g.ys = axis_origins(height, g.tile_height, overlap);
  g.xs = axis_origins(width, g.tile_width, overlap);
  return g;
}

std::vector<float> blend_window(int n, int overlap) {
  float ramp = static_cast<float>(std::max(1, overlap));
  std::vector<float> w(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) w[i] = std::min({1.0f, (i + 0.5f) / ramp, (n - i - 0.5f) / ramp});
  return w;
}

std::vector<TileBatch> tile_batches(const TileGrid& grid, int batch) {
  if (batch < 1) throw_config("infer.batch", "must be at least 1");
  std::vector<TileBatch> out;
  for (int y : grid.ys) {
    for (size_t first = 0; first < grid.xs.size(); first += static_cast<size_t>(batch)) {
      const size_t last = std::min(grid.xs.size(), first + static_cast<size_t>(batch));
      out.push_back({y, std::vector<int>(grid.xs.begin() + static_cast<long>(first), grid.xs.begin() + static_cast<long>(last))});
    }
  }
  return out;
}

TilePlan plan_tiles(const cv::Mat& image, const TilerOptions& options) {
  if (image.empty() || image.channels() != 3) throw_runtime("the tiler needs a 3-channel image");
  if (image.depth() != CV_32F && options.ranges.size() != 3)
    throw_runtime("the tiler needs the normalisation ranges of an 8/16-bit image");
  TilePlan plan;
  plan.grid = make_tile_grid(image.rows, image.cols, options.tile, options.overlap);
  plan.batches = tile_batches(plan.grid, options.batch);
  return plan;
}

void compute_tile_batch(const cv::Mat& image, const TilePlan& plan, size_t index, const TilerOptions& options,
                        const TileModel& model, std::vector<float>& logits) {
  const TileGrid& grid = plan.grid;
  const TileBatch& batch = plan.batches.at(index);
  const int th = grid.tile_height, tw = grid.tile_width, n = static_cast<int>(batch.xs.size());
  const size_t in_tile = 3 * static_cast<size_t>(th) * tw, out_tile = static_cast<size_t>(options.outputs()) * th * tw;
  std::vector<float> input(in_tile * n);
  for (int i = 0; i < n; ++i) extract_tile(image, batch.y, batch.xs[i], th, tw, options.ranges, &input[in_tile * i]);
  logits.assign(out_tile * n, 0.0f);
  model(input, n, th, tw, logits);
  if (logits.size() != out_tile * n) throw_runtime("model returned the wrong number of logits for a tile batch");
}

int run_tiled_batches(const TilePlan& plan, const TilerOptions& options, const BatchLogits& logits_of,
                      const RowSink& sink) {
  const TileGrid& g = plan.grid;
  const auto& batches = plan.batches;
  const int th = g.tile_height, tw = g.tile_width;
  const auto wy = blend_window(th, options.overlap), wx = blend_window(tw, options.overlap);
  const size_t out_tile = static_cast<size_t>(options.outputs()) * th * tw;

  Band band(options.classes, options.outputs(), th, g.width);
  std::vector<float> logits;
  for (size_t i = 0; i < batches.size(); ++i) {
    const TileBatch& b = batches[i];
    band.flush(b.y, sink);  // no later tile touches rows above y
    logits_of(i, logits);
    if (logits.size() != out_tile * b.xs.size()) throw_runtime("wrong number of logits for tile batch " + std::to_string(i));
    for (size_t k = 0; k < b.xs.size(); ++k) band.add(&logits[out_tile * k], b.y, b.xs[k], th, tw, g.height, wy, wx);
  }
  band.flush(g.height, sink);
  return static_cast<int>(batches.size());
}

int run_tiled(const cv::Mat& image, const TilerOptions& options, const TileModel& model, const RowSink& sink) {
  const TilePlan plan = plan_tiles(image, options);
  return run_tiled_batches(
      plan, options,
      [&](size_t i, std::vector<float>& logits) { compute_tile_batch(image, plan, i, options, model, logits); },
      sink);
}

std::vector<cv::Mat> predict_tiled(const cv::Mat& image, const TilerOptions& options, const TileModel& model) {
  std::vector<cv::Mat> probs(static_cast<size_t>(options.outputs()));
  for (auto& m : probs) m.create(image.rows, image.cols, CV_32F);
  run_tiled(image, options, model, [&](int y0, const std::vector<cv::Mat>& rows) {
    for (size_t k = 0; k < probs.size(); ++k) rows[k].copyTo(probs[k].rowRange(y0, y0 + rows[k].rows));
  });
  return probs;
}

}  // namespace nucseg::infer
