// Sliding-window inference over images of any size with a network that takes tiles whose sides
// are multiples of 32.
//
// Grid: same-size tiles (sides multiples of 32, at least tile / 2 unless the image side is
// shorter) of at most tile x tile pixels in area, chosen as the grid of least total area that
// covers the image with neighbours overlapping by at least `overlap`: a 520 x 696 image at tile 512 is two 544 x 384 tiles (0.42 megapixels) rather than
// four 512 x 512 ones (1.05). Along each axis the last tile is shifted inward so that every
// tile lies inside the image; an image side smaller than its tile is padded by reflection up
// to a multiple of 32. All tiles of one image have the same size, so they are batched.
//
// Blending: each tile's logits are weighted by a separable window that ramps up over `overlap`
// pixels from each edge and is > 0 everywhere (so normalising by the summed weights is always
// safe), summed, normalised and turned into probabilities by a softmax over the classes (and
// a sigmoid for each extra output after them: a distance head's map, a flow head's two).
//
// Memory: tiles are run one tile row at a time and accumulated in a band of tile-height rows
// (outputs() x tile x width floats plus weights); rows are normalised and handed to the sink as
// soon as no later tile touches them. For an 8192 x 8192 image with 512 tiles that band is
// ~67 MB; the caller decides what to keep of the finished rows (run_infer keeps the class map
// and the segment step's 8-bit masks, not full-image float probabilities: 805 MB for 3 classes).
#pragma once

#include <functional>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/io/normalize.hpp"

namespace nucseg::infer {

struct TileGrid {
  int height = 0, width = 0;            // the image
  int tile_height = 0, tile_width = 0;  // every tile (multiples of 32)
  std::vector<int> ys, xs;              // tile origins; a tile may extend past the image (padding)
  size_t count() const { return ys.size() * xs.size(); }
};

// The grid described above. Throws Error(config) naming infer.tile / infer.overlap for
// unusable values.
TileGrid make_tile_grid(int height, int width, int tile, int overlap);

// Per-axis blending window of length n: min(1, (i + 0.5) / ramp, (n - i - 0.5) / ramp), ramp =
// max(1, overlap); always > 0.
std::vector<float> blend_window(int n, int overlap);

// The network seen by the tiler: `batch` holds n x 3 x h x w normalised floats (NCHW, contiguous);
// the model fills `logits` with n x outputs() x h x w floats (TilerOptions::outputs).
using TileModel = std::function<void(const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits)>;

// Receives finished rows [y0, y0 + rows) as one CV_32F (rows x width) matrix per output: the
// class probabilities, then each extra output's sigmoid.
using RowSink = std::function<void(int y0, const std::vector<cv::Mat>& rows)>;

struct TilerOptions {
  int tile = 512;
  int overlap = 64;
  int batch = 4;
  int classes = 3;
  int extras = 0;  // outputs after the class logits (distance head 1, flow head 2), turned into 0..1 by a sigmoid
  int outputs() const { return classes + extras; }
  // Per input channel, the raw values mapped to 0 and 1 (io::normalize_ranges of the whole
  // image, so every tile is normalised alike, by io::apply_normalization as in training).
  // Needed for 8/16-bit images; a CV_32FC3 image is taken as already normalised.
  std::vector<io::ChannelRange> ranges;
};

// One forward pass: the tiles at (y, x) for every x of xs (at most options.batch of them, all in
// one tile row).
struct TileBatch {
  int y = 0;
  std::vector<int> xs;
};

// The forward passes over `grid`, tile row by tile row, in the order run_tiled uses them.
std::vector<TileBatch> tile_batches(const TileGrid& grid, int batch);

// An image's grid and its forward passes (what every rank working on the image derives alike).
struct TilePlan {
  TileGrid grid;
  std::vector<TileBatch> batches;
};
// image: 3 channels; Error(runtime) for an 8/16-bit image without options.ranges.
TilePlan plan_tiles(const cv::Mat& image, const TilerOptions& options);

// Runs `model` on batch `index`'s tiles of `image`; logits: xs.size() x outputs() x h x w floats.
void compute_tile_batch(const cv::Mat& image, const TilePlan& plan, size_t index, const TilerOptions& options,
                        const TileModel& model, std::vector<float>& logits);

// Runs `model` over `image` (CV_8UC3 / CV_16UC3 with options.ranges, or normalised CV_32FC3) and streams class
// probabilities (and extra outputs' maps) to `sink`, top to bottom. Returns the number of forward passes.
int run_tiled(const cv::Mat& image, const TilerOptions& options, const TileModel& model, const RowSink& sink);

// The same with batch i's logits supplied by `logits_of(i, logits)`, called for i = 0, 1, ...
// in order (computed here, or by another rank: TileSharing).
using BatchLogits = std::function<void(size_t index, std::vector<float>& logits)>;
int run_tiled_batches(const TilePlan& plan, const TilerOptions& options, const BatchLogits& logits_of,
                      const RowSink& sink);

// Convenience: the full-image probabilities, one CV_32F H x W matrix per class.
std::vector<cv::Mat> predict_tiled(const cv::Mat& image, const TilerOptions& options, const TileModel& model);

}  // namespace nucseg::infer
