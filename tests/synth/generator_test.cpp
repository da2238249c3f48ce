#include <gtest/gtest.h>

#include <thread>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/synth/generator.hpp"
#include "test_util.hpp"

using nucseg::SynthConfig;
using nucseg::synth::generate_sample;
using nucseg::synth::SynthSample;

namespace {

SynthConfig small(const std::string& style = "mixed") {
  SynthConfig c;
  c.seed = 7;
  c.style = style;
  c.min_side = 96;
  c.max_side = 160;
  return c;
}

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a.reshape(1) != b.reshape(1)) == 0;
}

}  // namespace

TEST(SynthGenerator, SameSeedSameBytesDifferentSeedDifferentImage) {
  auto c = small();
  SynthSample a = generate_sample(c, 3), b = generate_sample(c, 3);
  EXPECT_TRUE(same_bytes(a.rgba, b.rgba));
  EXPECT_TRUE(same_bytes(a.labels, b.labels));
  EXPECT_EQ(a.id, b.id);
  c.seed = 8;
  SynthSample d = generate_sample(c, 3);
  EXPECT_NE(d.id, a.id);
  EXPECT_FALSE(a.rgba.size() == d.rgba.size() && same_bytes(a.rgba, d.rgba));
}

TEST(SynthGenerator, AnImageAloneEqualsTheSameImageInABatchOrAnotherThread) {
  auto c = small();
  std::vector<SynthSample> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(generate_sample(c, i));
  SynthSample alone;
  std::thread worker([&] { alone = generate_sample(c, 4); });
  worker.join();
  EXPECT_TRUE(same_bytes(alone.rgba, batch[4].rgba));
  EXPECT_TRUE(same_bytes(alone.labels, batch[4].labels));
  EXPECT_FALSE(same_bytes(batch[3].labels, batch[4].labels));
}

TEST(SynthGenerator, SidesStyleAndFormatsFollowTheConfig) {
  auto c = small();
  c.min_side = 100;
  c.max_side = 140;
  std::set<std::string> styles;
  bool non_square = false;
  for (int i = 0; i < 30; ++i) {
    SynthSample s = generate_sample(c, i);
    ASSERT_EQ(s.rgba.type(), CV_8UC4);
    ASSERT_EQ(s.labels.type(), CV_32SC1);
    ASSERT_EQ(s.rgba.size(), s.labels.size());
    EXPECT_GE(s.rgba.cols, 100);
    EXPECT_LE(s.rgba.cols, 140);
    EXPECT_GE(s.rgba.rows, 100);
    EXPECT_LE(s.rgba.rows, 140);
    non_square |= s.rgba.cols != s.rgba.rows;
    EXPECT_EQ(s.style, nucseg::synth::sample_style(c, i));
    styles.insert(s.style);
    std::vector<cv::Mat> ch;
    cv::split(s.rgba, ch);
    EXPECT_EQ(cv::countNonZero(ch[3] != 255), 0) << "alpha must be opaque";
  }
  EXPECT_TRUE(non_square);
  EXPECT_EQ(styles, (std::set<std::string>{"brightfield", "fluorescence", "histology", "ihc", "phase"}));
  c.style = "histology";
  EXPECT_EQ(generate_sample(c, 5).style, "histology");
}

TEST(SynthGenerator, LabelsAreConsecutiveAndEachNucleusIsOnePiece) {
  auto c = small();
  c.density = 2.0;
  c.cluster_fraction = 0.9;
  for (int i = 0; i < 8; ++i) {
    SynthSample s = generate_sample(c, i);
    int n = synth_test::max_label(s.labels);
    ASSERT_GT(n, 0) << s.id;
    double mn = 0;
    cv::minMaxLoc(s.labels, &mn, nullptr);
    EXPECT_EQ(mn, 0.0);
    for (int k = 1; k <= n; ++k) EXPECT_EQ(synth_test::pieces(s.labels, k), 1) << s.id << " label " << k;
  }
}

TEST(SynthGenerator, ClustersTouchAndIsolatedNucleiNever) {
  auto c = small("fluorescence");
  c.cluster_fraction = 0.6;
  size_t touching = 0;
  for (int i = 0; i < 4; ++i) touching += synth_test::touching_pairs(generate_sample(c, i).labels).size();
  EXPECT_GT(touching, 4u);
  c.cluster_fraction = 0.0;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(synth_test::touching_pairs(generate_sample(c, i).labels).empty());
}

namespace {

// Equivalent radius sqrt(area / pi) of every nucleus that does not touch the image border and,
// unless `touching`, no other nucleus (touching nuclei are cut by their neighbours), per image.
std::vector<std::vector<double>> free_radii(const SynthConfig& c, int images, bool touching = false) {
  std::vector<std::vector<double>> out;
  for (int i = 0; i < images; ++i) {
    SynthSample s = generate_sample(c, i);
    std::set<int> in_pair;
    for (auto [a, b] : synth_test::touching_pairs(s.labels)) in_pair.insert(a), in_pair.insert(b);
    std::vector<double> radii;
    for (int k = 1; k <= synth_test::max_label(s.labels); ++k) {
      if (!touching && in_pair.count(k)) continue;
      cv::Rect box = cv::boundingRect(s.labels == k);
      if (box.x == 0 || box.y == 0 || box.br().x == s.labels.cols || box.br().y == s.labels.rows) continue;
      radii.push_back(std::sqrt(cv::countNonZero(s.labels == k) / 3.14159));
    }
    out.push_back(radii);
  }
  return out;
}

}  // namespace

TEST(SynthGenerator, IsolatedNucleiHaveTheConfiguredSize) {
  for (auto [lo, hi] : {std::pair<double, double>{4, 7}, std::pair<double, double>{12, 16}}) {
    auto c = small();
    c.min_side = c.max_side = 200;
    c.min_radius = lo;
    c.max_radius = hi;
    size_t checked = 0;
    for (const auto& radii : free_radii(c, 12)) {
      for (double r : radii) {
        EXPECT_GE(r, 0.8 * lo);
        EXPECT_LE(r, 1.2 * hi);
      }
      checked += radii.size();
    }
    EXPECT_GT(checked, 10u);
  }
}

TEST(SynthGenerator, TypicalNucleusSizeSpansTheDefaultRange) {
  // Default radii 3.5..20 (diameters 7..40): some images of small nuclei, some of large ones.
  auto c = small();
  c.min_side = c.max_side = 160;
  double smallest = 1e9, largest = 0;
  for (auto& radii : free_radii(c, 24, true)) {
    if (radii.size() < 3) continue;
    std::nth_element(radii.begin(), radii.begin() + static_cast<long>(radii.size() / 2), radii.end());
    double median = radii[radii.size() / 2];
    smallest = std::min(smallest, median);
    largest = std::max(largest, median);
  }
  EXPECT_LT(smallest, 6.0);
  EXPECT_GT(largest, 12.0);
  for (const auto& radii : free_radii(c, 24))
    for (double r : radii) {
      EXPECT_GE(r, 0.8 * c.min_radius);
      EXPECT_LE(r, 1.2 * c.max_radius);
    }
}

TEST(SynthGenerator, NucleiContrastWithTheirSurroundingInTheStylesDirection) {
  for (std::string style : {"fluorescence", "brightfield", "histology", "ihc", "phase"}) {
    auto c = small(style);
    int brighter = 0, darker = 0;
    for (int i = 0; i < 5; ++i) {
      SynthSample s = generate_sample(c, i);
      std::vector<cv::Mat> ch;
      cv::split(s.rgba, ch);
      // Fluorescence may be one colour channel, so take the brightest mean; H&E nuclei are told
      // apart by the red channel; the others by grey.
      cv::Mat channel = ch[0], grey;
      if (style == "fluorescence") {
        cv::Scalar m = cv::mean(s.rgba);
        channel = ch[static_cast<size_t>(m[1] > m[0] ? (m[2] > m[1] ? 2 : 1) : (m[2] > m[0] ? 2 : 0))];
      } else if (style != "histology") {
        cv::cvtColor(s.rgba, grey, cv::COLOR_RGBA2GRAY);
        channel = grey;
      }
      cv::Mat background = s.labels == 0;
      for (int k = 1; k <= synth_test::max_label(s.labels); ++k) {
        cv::Mat inside = s.labels == k, ring;
        if (cv::countNonZero(inside) < 20) continue;
        cv::dilate(inside, ring, cv::getStructuringElement(cv::MORPH_ELLIPSE, {9, 9}));
        ring &= background;
        if (cv::countNonZero(ring) < 10) continue;
        double in = cv::mean(channel, inside)[0], out = cv::mean(channel, ring)[0];
        (in > out ? brighter : darker) += 1;
      }
    }
    int total = brighter + darker;
    ASSERT_GT(total, 20) << style;
    if (style == "fluorescence")
      EXPECT_GE(brighter, 0.95 * total) << style;
    else
      EXPECT_GE(darker, 0.95 * total) << style;
  }
}

TEST(SynthGenerator, BigSampleIsSquareAndLabelled) {
  auto c = small("mixed");
  auto big = nucseg::synth::generate_big_sample(c, 1100);
  EXPECT_EQ(big.rgba.size(), cv::Size(1100, 1100));
  EXPECT_EQ(big.id, nucseg::synth::big_sample_id(c, 1100));
  int n = synth_test::max_label(big.labels);
  EXPECT_GT(n, 200);
  EXPECT_FALSE(synth_test::touching_pairs(big.labels).empty());
}

TEST(SynthGenerator, InvalidSettingsAreConfigErrors) {
  auto c = small();
  c.style = "phase-contrast";
  EXPECT_THROW(generate_sample(c, 0), nucseg::Error);
  c = small();
  c.min_radius = 9;
  c.max_radius = 5;
  EXPECT_THROW(generate_sample(c, 0), nucseg::Error);
}
