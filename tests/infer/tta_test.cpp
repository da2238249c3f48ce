#include "nucseg/infer/tta.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "nucseg/core/error.hpp"

namespace {

using namespace nucseg::infer;

// Pointwise logits: commutes with every flip and rotation.
void pointwise(const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
  const size_t plane = static_cast<size_t>(h) * w;
  for (int i = 0; i < n; ++i)
    for (size_t p = 0; p < plane; ++p) {
      const float* in = &batch[static_cast<size_t>(i) * 3 * plane];
      logits[(i * 3 + 0) * plane + p] = 2.0f * in[p] - in[plane + p];
      logits[(i * 3 + 1) * plane + p] = std::sin(6.0f * in[plane + p]) + in[2 * plane + p];
      logits[(i * 3 + 2) * plane + p] = 3.0f * in[p] * in[2 * plane + p] - 1.0f;
    }
}

// Looks at the left neighbour: a flip turns it into the right one.
void leftward(const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
  const size_t plane = static_cast<size_t>(h) * w;
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        const size_t p = static_cast<size_t>(r) * w + c;
        const float left = batch[static_cast<size_t>(i) * 3 * plane + p - (c > 0 ? 1 : 0)];
        logits[(i * 3 + 0) * plane + p] = 0.0f;
        logits[(i * 3 + 1) * plane + p] = 8.0f * (left - 0.5f);
        logits[(i * 3 + 2) * plane + p] = -2.0f;
      }
}

cv::Mat random_image(cv::Size size, int seed) {
  cv::Mat image(size, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

TilerOptions options() {
  TilerOptions o;
  o.tile = 96;
  o.overlap = 16;
  o.batch = 2;
  o.ranges.assign(3, nucseg::io::ChannelRange{0.0, 255.0});
  return o;
}

double max_abs_diff(const std::vector<cv::Mat>& a, const std::vector<cv::Mat>& b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, cv::norm(a[k], b[k], cv::NORM_INF));
  return worst;
}

TEST(Tta, EquivariantModelGivesItsPlainResult) {
  const cv::Mat image = random_image({150, 110}, 1);  // tiles of 96 x 64: the transposed ones are 64 x 96
  const auto plain = predict_tiled(image, options(), pointwise);
  for (auto mode : {TtaMode::flips, TtaMode::dihedral}) {
    SCOPED_TRACE(tta_transform_count(mode));
    EXPECT_LT(max_abs_diff(predict_tiled(image, options(), with_tta(pointwise, mode, 3)), plain), 1e-5);
  }
}

TEST(Tta, ModelThatIsNotEquivariantChanges) {
  const cv::Mat image = random_image({128, 128}, 2);
  const auto plain = predict_tiled(image, options(), leftward);
  const auto flips = predict_tiled(image, options(), with_tta(leftward, TtaMode::flips, 3));
  EXPECT_GT(max_abs_diff(flips, plain), 0.2);
  // Averaged over left and right neighbours (and up/down ones for the dihedral set).
  const auto dihedral = predict_tiled(image, options(), with_tta(leftward, TtaMode::dihedral, 3));
  EXPECT_GT(max_abs_diff(dihedral, flips), 0.05);
}

TEST(Tta, RunsEveryTransformOnceWithTransposedTilesForDihedral) {
  std::multiset<std::pair<int, int>> shapes;
  auto recording = [&](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    shapes.insert({h, w});
    pointwise(batch, n, h, w, logits);
  };
  std::vector<float> batch(2 * 3 * 32 * 64, 0.5f), logits;
  with_tta(recording, TtaMode::flips, 3)(batch, 2, 32, 64, logits);
  EXPECT_EQ(shapes.count({32, 64}), 4u);
  shapes.clear();
  with_tta(recording, TtaMode::dihedral, 3)(batch, 2, 32, 64, logits);
  EXPECT_EQ(shapes.count({32, 64}), 4u);
  EXPECT_EQ(shapes.count({64, 32}), 4u);
  EXPECT_EQ(logits.size(), 2u * 3 * 32 * 64);
  shapes.clear();
  with_tta(recording, TtaMode::off, 3)(batch, 2, 32, 64, logits);
  EXPECT_EQ(shapes.size(), 1u);
}

TEST(Tta, UnknownModeNamesTheKey) {
  try {
    parse_tta_mode("on");
    ADD_FAILURE() << "no error";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.tta");
  }
  EXPECT_EQ(parse_tta_mode("dihedral"), TtaMode::dihedral);
}

}  // namespace

// A distance head's channel after the classes: averaged as a sigmoid (the mean of the
// transforms' 0..1 maps), the classes as before. The extra channel here looks at the left
// neighbour, so the flips average it with the right one.
TEST(Tta, ExtraOutputIsTheMeanSigmoidOverTheTransforms) {
  auto four = [](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    const size_t plane = static_cast<size_t>(h) * w;
    std::vector<float> three(static_cast<size_t>(n) * 3 * plane);
    pointwise(batch, n, h, w, three);
    for (int i = 0; i < n; ++i) {
      std::copy_n(&three[static_cast<size_t>(i) * 3 * plane], 3 * plane, &logits[static_cast<size_t>(i) * 4 * plane]);
      for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) {
          const size_t p = static_cast<size_t>(r) * w + c;
          logits[(i * 4 + 3) * plane + p] = 8.0f * (batch[static_cast<size_t>(i) * 3 * plane + p - (c > 0 ? 1 : 0)] - 0.5f);
        }
    }
  };
  const cv::Mat image = random_image({96, 96}, 5);  // one tile: no blending between tiles
  TilerOptions with_head = options();
  with_head.extras = 1;
  const auto plain = predict_tiled(image, with_head, four);
  const auto flips = predict_tiled(image, with_head, with_tta(four, TtaMode::flips, 3, 1));
  ASSERT_EQ(flips.size(), 4u);
  const std::vector<cv::Mat> plain_classes(plain.begin(), plain.begin() + 3), flip_classes(flips.begin(), flips.begin() + 3);
  EXPECT_LT(max_abs_diff(flip_classes, plain_classes), 1e-5);
  auto sigmoid = [](float z) { return 1.0f / (1.0f + std::exp(-z)); };
  for (int r = 0; r < 96; r += 7)
    for (int c = 1; c < 95; c += 5) {
      const float left = image.at<cv::Vec3b>(r, c - 1)[0] / 255.0f, right = image.at<cv::Vec3b>(r, c + 1)[0] / 255.0f;
      EXPECT_NEAR(plain[3].at<float>(r, c), sigmoid(8.0f * (left - 0.5f)), 1e-5);
      EXPECT_NEAR(flips[3].at<float>(r, c), 0.5f * (sigmoid(8.0f * (left - 0.5f)) + sigmoid(8.0f * (right - 0.5f))), 1e-4);
    }
}

// A flow head's two channels are vectors: under a flip or a quarter turn the network sees the
// image turned and answers in the turned frame's directions, which must be turned back before
// the transforms are averaged. The model's flow here is the gradient of the image's first
// channel (central differences, exact inside the tile for the ramp y + floor(x / 2)), which
// turns with the image; every mode must then give the plain run's flow.
TEST(Tta, FlowChannelsTurnBackWithTheImage) {
  auto gradient = [](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    const size_t plane = static_cast<size_t>(h) * w;
    std::vector<float> three(static_cast<size_t>(n) * 3 * plane);
    pointwise(batch, n, h, w, three);
    for (int i = 0; i < n; ++i) {
      std::copy_n(&three[static_cast<size_t>(i) * 3 * plane], 3 * plane, &logits[static_cast<size_t>(i) * 5 * plane]);
      const float* in = &batch[static_cast<size_t>(i) * 3 * plane];
      auto v = [&](int r, int c) { return in[static_cast<size_t>(std::clamp(r, 0, h - 1)) * w + std::clamp(c, 0, w - 1)]; };
      for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) {
          const size_t p = static_cast<size_t>(r) * w + c;
          logits[(i * 5 + 3) * plane + p] = 255.0f * (v(r + 1, c) - v(r - 1, c)) / 2.0f;
          logits[(i * 5 + 4) * plane + p] = 255.0f * (v(r, c + 1) - v(r, c - 1)) / 2.0f;
        }
    }
  };
  cv::Mat image(96, 96, CV_8UC3, cv::Scalar(0, 0, 0));
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 96; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(20 + y + x / 2), 90, 160);
  TilerOptions with_flow = options();
  with_flow.extras = 2;
  const auto plain = predict_tiled(image, with_flow, gradient);
  auto sigmoid = [](float z) { return 1.0f / (1.0f + std::exp(-z)); };
  ASSERT_EQ(plain.size(), 5u);
  EXPECT_NEAR(plain[3].at<float>(40, 40), sigmoid(1.0f), 1e-5);  // dy = 1 grey level per row
  EXPECT_NEAR(plain[4].at<float>(40, 40), sigmoid(0.5f), 1e-5);  // dx = 1/2 per column
  for (TtaMode mode : {TtaMode::flips, TtaMode::dihedral}) {
    const auto turned = predict_tiled(image, with_flow, with_tta(gradient, mode, 3, 2));
    ASSERT_EQ(turned.size(), 5u);
    const cv::Rect inside(1, 1, 94, 94);  // the tile's edge rows clamp the differences
    for (int k = 3; k < 5; ++k)
      EXPECT_LT(cv::norm(turned[static_cast<size_t>(k)](inside), plain[static_cast<size_t>(k)](inside), cv::NORM_INF), 1e-4)
          << "flow plane " << k << ", mode " << static_cast<int>(mode);
  }
}
