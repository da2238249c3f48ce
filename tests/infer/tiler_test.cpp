#include "nucseg/infer/tiler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "nucseg/core/error.hpp"

namespace {

using namespace nucseg::infer;

// A translation-equivariant fake network: each pixel's 3 logits are a fixed function of that
// pixel's RGB values, so the right answer at every pixel is known without tiling.
void pointwise_logits(const float* rgb, float* z) {
  z[0] = 2.0f * rgb[0] - rgb[1];
  z[1] = std::sin(6.0f * rgb[1]) + rgb[2];
  z[2] = 3.0f * rgb[0] * rgb[2] - 1.0f;
}

void fake_model(const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
  size_t plane = static_cast<size_t>(h) * w;
  logits.assign(static_cast<size_t>(n) * 3 * plane, 0.0f);
  for (int i = 0; i < n; ++i) {
    for (size_t p = 0; p < plane; ++p) {
      const float* in = &batch[static_cast<size_t>(i) * 3 * plane];
      float rgb[3] = {in[p], in[plane + p], in[2 * plane + p]}, z[3];
      pointwise_logits(rgb, z);
      for (int k = 0; k < 3; ++k) logits[(static_cast<size_t>(i) * 3 + k) * plane + p] = z[k];
    }
  }
}

// Every channel's raw range 0 .. `max` mapped to 0 .. 1.
std::vector<nucseg::io::ChannelRange> full_range(double max) {
  return std::vector<nucseg::io::ChannelRange>(3, nucseg::io::ChannelRange{0.0, max});
}

// The untiled answer: softmax of the pointwise logits of the image normalised as a whole.
std::vector<cv::Mat> untiled(const cv::Mat& image, const std::vector<nucseg::io::ChannelRange>& ranges) {
  std::vector<cv::Mat> out(3);
  for (auto& m : out) m.create(image.rows, image.cols, CV_32F);
  const cv::Mat unit = nucseg::io::apply_normalization(image, ranges);
  for (int r = 0; r < image.rows; ++r)
    for (int c = 0; c < image.cols; ++c) {
      auto v = unit.at<cv::Vec3f>(r, c);
      float rgb[3] = {v[0], v[1], v[2]}, z[3];
      pointwise_logits(rgb, z);
      float top = std::max({z[0], z[1], z[2]}), sum = 0;
      for (float& x : z) sum += (x = std::exp(x - top));
      for (int k = 0; k < 3; ++k) out[k].at<float>(r, c) = z[k] / sum;
    }
  return out;
}

double max_abs_diff(const std::vector<cv::Mat>& a, const std::vector<cv::Mat>& b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, cv::norm(a[k], b[k], cv::NORM_INF));
  return worst;
}

TEST(Tiler, GridCoversImageWithInwardEdgeTiles) {
  auto g = make_tile_grid(1000, 700, 256, 32);
  EXPECT_EQ(g.tile_height, 256);
  EXPECT_EQ(g.tile_width, 256);
  EXPECT_EQ(g.ys.front(), 0);
  EXPECT_EQ(g.ys.back(), 1000 - 256);
  EXPECT_EQ(g.xs.back(), 700 - 256);
  for (size_t i = 1; i < g.ys.size(); ++i) EXPECT_LE(g.ys[i] - g.ys[i - 1], 256 - 32);  // overlap kept
  for (size_t i = 1; i < g.xs.size(); ++i) EXPECT_LE(g.xs[i] - g.xs[i - 1], 256 - 32);

  auto small = make_tile_grid(100, 50, 256, 32);  // smaller than a tile: one padded tile
  EXPECT_EQ(small.tile_height, 128);
  EXPECT_EQ(small.tile_width, 64);
  EXPECT_EQ(small.count(), 1u);

  EXPECT_THROW(make_tile_grid(100, 100, 100, 0), nucseg::Error);  // not a multiple of 32
  EXPECT_THROW(make_tile_grid(100, 100, 128, 128), nucseg::Error);
}

// The grid of least area: a Kaggle-sized 520 x 696 image is two 544 x 384 tiles, not four
// 512 x 512 ones; a 4096 x 4096 image stays 81 tiles of 512.
TEST(Tiler, GridOfLeastAreaWithinTheTileBudget) {
  auto g = make_tile_grid(520, 696, 512, 64);
  EXPECT_EQ(g.tile_height, 544);
  EXPECT_EQ(g.tile_width, 384);
  EXPECT_EQ(g.count(), 2u);
  EXPECT_EQ(g.xs, (std::vector<int>{0, 696 - 384}));
  auto big = make_tile_grid(4096, 4096, 512, 64);
  EXPECT_EQ(big.tile_height, 512);
  EXPECT_EQ(big.tile_width, 512);
  EXPECT_EQ(big.count(), 81u);
  // Without overlap every tiling costs the same: tiles keep at least half the tile side.
  auto strips = make_tile_grid(2048, 2048, 512, 0);
  EXPECT_GE(strips.tile_height, 256);
  EXPECT_GE(strips.tile_width, 256);
}

// Square tiles of `tile`, origins every tile - overlap, the last shifted inward: the grid the
// tiler used before it searched shapes (no chosen grid may cost more).
long square_grid_area(int h, int w, int tile, int overlap) {
  auto count = [&](int length, int side) {
    if (length <= side) return 1;
    int n = 1;
    for (int p = 0; p + side < length; p += side - overlap) ++n;
    return n - 1 + 1;
  };
  const int th = std::min(tile, (h + 31) / 32 * 32), tw = std::min(tile, (w + 31) / 32 * 32);
  return static_cast<long>(count(h, th)) * count(w, tw) * th * tw;
}

TEST(Tiler, GridPropertiesOnManyShapes) {
  cv::RNG rng(3);
  for (int trial = 0; trial < 400; ++trial) {
    const int tile = 32 * rng.uniform(1, 17), overlap = rng.uniform(0, tile);
    const int h = rng.uniform(1, 3000), w = rng.uniform(1, 3000);
    const auto g = make_tile_grid(h, w, tile, overlap);
    const std::string what = std::to_string(h) + "x" + std::to_string(w) + " tile " + std::to_string(tile) +
                             " overlap " + std::to_string(overlap);
    ASSERT_EQ(g.tile_height % 32, 0) << what;
    ASSERT_EQ(g.tile_width % 32, 0) << what;
    ASSERT_LE(static_cast<long>(g.tile_height) * g.tile_width, static_cast<long>(tile) * tile) << what;
    const int floor_side = std::max(32, tile / 2 / 32 * 32);
    ASSERT_GE(g.tile_height, std::min((h + 31) / 32 * 32, floor_side)) << what;
    ASSERT_GE(g.tile_width, std::min((w + 31) / 32 * 32, floor_side)) << what;
    ASSERT_LE(static_cast<long>(g.count()) * g.tile_height * g.tile_width, square_grid_area(h, w, tile, overlap)) << what;
    for (const auto& [origins, side, length] : {std::tuple{g.ys, g.tile_height, h}, std::tuple{g.xs, g.tile_width, w}}) {
      ASSERT_EQ(origins.front(), 0) << what;
      ASSERT_GE(origins.back() + side, length) << what;  // covered
      if (origins.size() > 1) {
        ASSERT_EQ(origins.back() + side, length) << what;  // inside the image
      }
      for (size_t i = 1; i < origins.size(); ++i) {
        ASSERT_GT(origins[i], origins[i - 1]) << what;
        ASSERT_LE(origins[i] - origins[i - 1], side - overlap) << what;  // overlap kept
      }
    }
  }
}

TEST(Tiler, BlendWindowIsPositiveAndSymmetric) {
  auto w = blend_window(128, 32);
  for (int i = 0; i < 128; ++i) {
    EXPECT_GT(w[i], 0.0f);
    EXPECT_FLOAT_EQ(w[i], w[127 - i]);
  }
  EXPECT_FLOAT_EQ(w[64], 1.0f);
  EXPECT_LT(w[0], 0.05f);
}

TEST(Tiler, BlendedOutputEqualsUntiledForEquivariantModel) {
  cv::RNG rng(7);
  for (auto size : {cv::Size(420, 300), cv::Size(70, 40), cv::Size(129, 257)}) {
    SCOPED_TRACE(size);
    cv::Mat image(size, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    TilerOptions opt;
    opt.tile = 128;
    opt.overlap = 32;
    opt.batch = 3;
    opt.ranges = full_range(255);
    auto tiled = predict_tiled(image, opt, fake_model);
    EXPECT_LT(max_abs_diff(tiled, untiled(image, opt.ranges)), 1e-5);
  }
}

TEST(Tiler, SmoothInputGivesSeamlessOutput) {
  // 16-bit image whose channels encode the global position: the probabilities must be as
  // smooth across tile seams as anywhere else (no jump where tiles meet).
  cv::Mat image(333, 517, CV_16UC3);
  for (int r = 0; r < image.rows; ++r)
    for (int c = 0; c < image.cols; ++c)
      image.at<cv::Vec3w>(r, c) = cv::Vec3w(static_cast<uint16_t>(c * 65535 / 516), static_cast<uint16_t>(r * 65535 / 332),
                                            static_cast<uint16_t>((r + c) * 65535 / 849));
  TilerOptions opt;
  opt.tile = 96;
  opt.overlap = 24;
  opt.batch = 2;
  opt.ranges = full_range(65535);
  auto tiled = predict_tiled(image, opt, fake_model);
  auto reference = untiled(image, opt.ranges);
  EXPECT_LT(max_abs_diff(tiled, reference), 1e-5);
  // Neighbouring pixels differ by at most what the smooth reference allows.
  for (int k = 0; k < 3; ++k) {
    cv::Mat dx_t = cv::abs(tiled[k].colRange(1, 517) - tiled[k].colRange(0, 516));
    cv::Mat dx_r = cv::abs(reference[k].colRange(1, 517) - reference[k].colRange(0, 516));
    double worst_t, worst_r;
    cv::minMaxLoc(dx_t, nullptr, &worst_t);
    cv::minMaxLoc(dx_r, nullptr, &worst_r);
    EXPECT_LT(worst_t, worst_r + 1e-5);
  }
}

TEST(Tiler, RowsAreStreamedOnceInOrderWithinABand) {
  cv::Mat image(700, 260, CV_8UC3, cv::Scalar(10, 20, 30));
  TilerOptions opt;
  opt.tile = 128;
  opt.overlap = 16;
  opt.ranges = full_range(255);
  int next = 0, largest = 0;
  int passes = run_tiled(image, opt, fake_model, [&](int y0, const std::vector<cv::Mat>& rows) {
    EXPECT_EQ(y0, next);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].cols, 260);
    next = y0 + rows[0].rows;
    largest = std::max(largest, rows[0].rows);
  });
  EXPECT_EQ(next, 700);
  EXPECT_LE(largest, 128);  // memory: never more than a tile-high band at once
  auto g = make_tile_grid(700, 260, 128, 16);
  EXPECT_EQ(passes, static_cast<int>(g.ys.size() * ((g.xs.size() + 3) / 4)));
}

TEST(Tiler, WrongModelOutputIsAnError) {
  cv::Mat image(64, 64, CV_8UC3, cv::Scalar::all(0));
  TilerOptions opt;
  opt.tile = 64;
  opt.ranges = full_range(255);
  auto bad = [](const std::vector<float>&, int, int, int, std::vector<float>& logits) { logits.resize(5); };
  EXPECT_THROW(predict_tiled(image, opt, bad), nucseg::Error);
}

// Each channel is normalised with its own whole-image range (percentiles here), the same in
// every tile as on the whole image; an 8/16-bit image without ranges is refused; a float image
// is taken as already normalised.
TEST(Tiler, TilesUseTheWholeImagePerChannelRanges) {
  cv::Mat image(150, 230, CV_16UC3);
  cv::RNG rng(11);
  std::vector<cv::Mat> planes(3);
  rng.fill(planes[0] = cv::Mat(image.size(), CV_16U), cv::RNG::UNIFORM, 0, 4096);    // 12-bit
  rng.fill(planes[1] = cv::Mat(image.size(), CV_16U), cv::RNG::UNIFORM, 300, 900);   // dim
  rng.fill(planes[2] = cv::Mat(image.size(), CV_16U), cv::RNG::UNIFORM, 0, 65536);   // full range
  cv::merge(planes, image);
  nucseg::io::NormalizeSpec spec;  // percentile 1 .. 99.8
  TilerOptions opt;
  opt.tile = 64;
  opt.overlap = 16;
  opt.ranges = nucseg::io::normalize_ranges(image, spec);
  ASSERT_LT(opt.ranges[1].hi, 1000.0);
  auto tiled = predict_tiled(image, opt, fake_model);
  EXPECT_LT(max_abs_diff(tiled, untiled(image, opt.ranges)), 1e-5);
  // The same from the image normalised beforehand (what a rescaled image is tiled from).
  TilerOptions as_float = opt;
  as_float.ranges.clear();
  auto from_float = predict_tiled(nucseg::io::normalize_image(image, spec), as_float, fake_model);
  EXPECT_LT(max_abs_diff(tiled, from_float), 1e-6);
  TilerOptions none = opt;
  none.ranges.clear();
  EXPECT_THROW(predict_tiled(image, none, fake_model), nucseg::Error);
}

}  // namespace
