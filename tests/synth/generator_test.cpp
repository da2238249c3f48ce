#include <gtest/gtest.h>

#include <thread>

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
  EXPECT_EQ(styles, (std::set<std::string>{"brightfield", "fluorescence", "histology"}));
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

TEST(SynthGenerator, IsolatedNucleiHaveTheConfiguredSize) {
  for (auto [lo, hi] : {std::pair<double, double>{4, 7}, std::pair<double, double>{12, 16}}) {
    auto c = small();
    c.min_side = c.max_side = 200;
    c.min_radius = lo;
    c.max_radius = hi;
    int checked = 0;
    for (int i = 0; i < 6; ++i) {
      SynthSample s = generate_sample(c, i);
      auto touch = synth_test::touching_pairs(s.labels);
      std::set<int> in_pair;
      for (auto [a, b] : touch) in_pair.insert(a), in_pair.insert(b);
      cv::Mat stats, centroids, unused;
      for (int k = 1; k <= synth_test::max_label(s.labels); ++k) {
        if (in_pair.count(k)) continue;
        cv::Rect box = cv::boundingRect(s.labels == k);
        if (box.x == 0 || box.y == 0 || box.br().x == s.labels.cols || box.br().y == s.labels.rows) continue;
        double r = std::sqrt(cv::countNonZero(s.labels == k) / 3.14159);
        EXPECT_GE(r, 0.8 * lo) << s.id << " label " << k;
        EXPECT_LE(r, 1.2 * hi) << s.id << " label " << k;
        ++checked;
      }
    }
    EXPECT_GT(checked, 10);
  }
}

TEST(SynthGenerator, NucleiContrastWithTheirSurroundingInTheStylesDirection) {
  for (std::string style : {"fluorescence", "brightfield", "histology"}) {
    auto c = small(style);
    int brighter = 0, darker = 0;
    for (int i = 0; i < 5; ++i) {
      SynthSample s = generate_sample(c, i);
      std::vector<cv::Mat> ch;
      cv::split(s.rgba, ch);
      // Fluorescence and brightfield are grey-ish; H&E nuclei are told apart by the red channel.
      cv::Mat channel = ch[0];
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
