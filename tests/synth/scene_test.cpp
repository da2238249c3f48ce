// Scene layout: nucleus populations and shapes, crowding and occlusion, ihc positivity.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "random.hpp"  // private headers of src/synth
#include "scene.hpp"
#include "shapes.hpp"
#include "test_util.hpp"

using namespace nucseg::synth::detail;

namespace {

float mean_radius(const Nucleus& n) { return std::sqrt(n.a * n.b); }

Scene scene_with_labels(const nucseg::SynthConfig& c, uint64_t seed, int side, Style style, cv::Mat& labels,
                        std::vector<int>& owner) {
  Scene scene = make_scene(c, seed, side, side, style);
  labels = rasterize_labels(scene, owner);
  return scene;
}

}  // namespace

TEST(SynthScene, NucleiStayInsideTheirModelsRadiusRangeAndBound) {
  nucseg::SynthConfig c;  // radii 3.5 .. 20
  int two_populations = 0;
  double widest_ratio = 1;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed * 7919 + 1);
    Imaging im = draw_imaging(rng, Style::fluorescence, 256, 256);
    ShapeModel m = draw_shape_model(rng, c, im);
    ASSERT_GE(m.typical_r, c.min_radius);
    ASSERT_LE(m.typical_r, c.max_radius);
    ASSERT_GE(m.typical_r2, c.min_radius);
    ASSERT_LE(m.typical_r2, c.max_radius);
    if (m.second_fraction > 0) {
      ++two_populations;
      widest_ratio = std::max(widest_ratio, std::max(m.typical_r2 / m.typical_r, m.typical_r / m.typical_r2));
    }
    for (int k = 0; k < 50; ++k) {
      Nucleus n = draw_nucleus(rng, m, 0, 0);
      // r = sqrt(a b) is drawn inside [min_radius, r_cap]; float rounding aside.
      ASSERT_GE(mean_radius(n), c.min_radius * 0.999) << seed;
      ASSERT_LE(mean_radius(n), m.r_cap * 1.001) << seed;
      ASSERT_LE(n.bound, m.max_bound) << seed;
      // The bound really contains the outline: s >= 1 on the circle of radius bound.
      for (int t = 0; t < 64; ++t) {
        float ang = 6.2831853f * static_cast<float>(t) / 64.0f;
        ASSERT_GE(n.shape_s(n.bound * std::cos(ang), n.bound * std::sin(ang)), 1.0f) << seed << " " << k;
      }
    }
  }
  EXPECT_GT(two_populations, 20);  // about a quarter of the images
  EXPECT_GE(widest_ratio, 2.0);
}

TEST(SynthScene, MitoticAndApoptoticBodiesAreSmallerAndDenser) {
  nucseg::SynthConfig c;
  c.min_radius = 6;
  c.max_radius = 14;
  double size_ratio = 0, intensity_ratio = 0;
  int scenes = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    Scene scene = make_scene(c, seed, 256, 256, Style::fluorescence);
    double r_i = 0, r_c = 0, v_i = 0, v_c = 0;
    int n_i = 0, n_c = 0;
    for (const Nucleus& n : scene.nuclei) {
      bool condensed = n.kind != Kind::interphase;
      (condensed ? r_c : r_i) += mean_radius(n);
      (condensed ? v_c : v_i) += n.intensity;
      (condensed ? n_c : n_i) += 1;
    }
    if (n_c < 2 || n_i < 10) continue;
    size_ratio += (r_c / n_c) / (r_i / n_i);
    intensity_ratio += (v_c / n_c) / (v_i / n_i);
    ++scenes;
  }
  ASSERT_GT(scenes, 10);
  EXPECT_LT(size_ratio / scenes, 0.8);
  EXPECT_GT(intensity_ratio / scenes, 1.6);
}

TEST(SynthScene, BentNucleiAreKidneyShaped) {
  // Solidity (area / convex hull area) of free-standing nuclei: a bend makes a concave side.
  nucseg::SynthConfig c;
  c.min_radius = 9;
  c.max_radius = 14;
  c.cluster_fraction = 0;
  double bent = 0, straight = 0;
  int n_bent = 0, n_straight = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    cv::Mat labels;
    std::vector<int> owner;
    Scene scene = scene_with_labels(c, seed, 200, Style::fluorescence, labels, owner);
    for (size_t k = 0; k < owner.size(); ++k) {
      const Nucleus& n = scene.nuclei[static_cast<size_t>(owner[k])];
      if (n.kind != Kind::interphase || n.harm[0] * n.harm[0] + n.harm[1] * n.harm[1] > 0.01f) continue;
      std::vector<std::vector<cv::Point>> contours;
      cv::findContours(labels == static_cast<int>(k + 1), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
      std::vector<cv::Point> hull;
      cv::convexHull(contours[0], hull);
      cv::Rect box = cv::boundingRect(contours[0]);
      if (box.x == 0 || box.y == 0 || box.br().x == labels.cols || box.br().y == labels.rows) continue;
      double solidity = cv::contourArea(contours[0]) / cv::contourArea(hull);
      if (std::abs(n.bend) >= 0.5f) bent += solidity, ++n_bent;
      if (n.bend == 0) straight += solidity, ++n_straight;
    }
  }
  ASSERT_GT(n_bent, 5);
  ASSERT_GT(n_straight, 50);
  EXPECT_LT(bent / n_bent, straight / n_straight - 0.04);
}

TEST(SynthScene, TheUpperNucleusOwnsTheOverlapAndEveryMaskIsOnePiece) {
  nucseg::SynthConfig c;
  c.cluster_fraction = 1;
  c.density = 2;
  int occluded_pairs = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    cv::Mat labels;
    std::vector<int> owner;
    Scene scene = scene_with_labels(c, seed, 160, Style::fluorescence, labels, owner);
    const int count = static_cast<int>(owner.size());
    ASSERT_EQ(synth_test::max_label(labels), count);
    std::vector<int> label_of(scene.nuclei.size(), 0);
    for (int k = 0; k < count; ++k) label_of[static_cast<size_t>(owner[static_cast<size_t>(k)])] = k + 1;
    for (int k = 1; k <= count; ++k) ASSERT_EQ(synth_test::pieces(labels, k), 1) << "seed " << seed << " label " << k;
    // Where an upper and a lower nucleus overlap, no pixel carries the lower one's label.
    for (size_t i = 0; i < scene.nuclei.size(); ++i) {
      for (size_t j = 0; j < scene.nuclei.size(); ++j) {
        const Nucleus &up = scene.nuclei[i], &low = scene.nuclei[j];
        if (up.cluster < 0 || up.cluster != low.cluster || up.z <= low.z || label_of[j] == 0) continue;
        int overlap = 0;
        for (int y = 0; y < labels.rows; ++y)
          for (int x = 0; x < labels.cols; ++x) {
            float px = static_cast<float>(x) + 0.5f, py = static_cast<float>(y) + 0.5f;
            if (up.shape_s(px, py) >= 1 || low.shape_s(px, py) >= 1) continue;
            ++overlap;
            ASSERT_NE(labels.at<int>(y, x), label_of[j]) << "seed " << seed;
          }
        occluded_pairs += overlap > 0;
      }
    }
  }
  EXPECT_GT(occluded_pairs, 20);
}

TEST(SynthScene, ImagesRangeFromSparseToCrowded) {
  nucseg::SynthConfig c;
  double sparsest = 1, densest = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    cv::Mat labels;
    std::vector<int> owner;
    scene_with_labels(c, seed, 192, Style::fluorescence, labels, owner);
    double covered = cv::countNonZero(labels) / static_cast<double>(labels.total());
    sparsest = std::min(sparsest, covered);
    densest = std::max(densest, covered);
  }
  EXPECT_LT(sparsest, 0.12);
  EXPECT_GT(densest, 0.35);
}

TEST(SynthScene, IhcHasBrownPositiveAndBlueNegativeNuclei) {
  nucseg::SynthConfig c;
  int brown = 0, blue = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    cv::Mat labels;
    std::vector<int> owner;
    Scene scene = scene_with_labels(c, seed, 160, Style::ihc, labels, owner);
    cv::Mat rgba(scene.height, scene.width, CV_8UC4);
    render_region(scene, labels, owner, cv::Rect(0, 0, scene.width, scene.height), rgba);
    for (size_t k = 0; k < owner.size(); ++k) {
      const Nucleus& n = scene.nuclei[static_cast<size_t>(owner[k])];
      cv::Mat inside = labels == static_cast<int>(k + 1);
      if (cv::countNonZero(inside) < 30 || n.defocus) continue;
      cv::Scalar m = cv::mean(rgba, inside);
      if (n.stain2 > 0.5f) brown += m[0] > m[2];  // DAB absorbs blue most: red above blue
      if (n.stain2 == 0 && n.cyto2 == 0) blue += m[2] > m[0];
    }
  }
  EXPECT_GT(brown, 20);
  EXPECT_GT(blue, 20);
}

// Membrane-stained ihc (Imaging::membrane): brown sheets of cell bodies fill much of the space
// between the nuclei, and the nuclei of positive cells stay blue (no DAB painted inside them).
TEST(SynthScene, IhcMembraneStainMakesBrownSheetsAroundBlueNuclei) {
  nucseg::SynthConfig c;
  auto brown_outside = [](const cv::Mat& rgba, const cv::Mat& labels) {
    std::vector<cv::Mat> ch;
    cv::split(rgba, ch);
    cv::Mat r, b;
    ch[0].convertTo(r, CV_32F);
    ch[2].convertTo(b, CV_32F);
    const cv::Mat brown = (r - b) > 25.0f, outside = labels == 0;
    return cv::countNonZero(brown & outside) / std::max(1.0, static_cast<double>(cv::countNonZero(outside)));
  };
  int sheets = 0, blue_nuclei = 0, nuclei = 0;
  double with_sheets = 0;
  for (uint64_t seed = 0; seed < 100 && sheets < 5; ++seed) {
    cv::Mat labels;
    std::vector<int> owner;
    Scene scene = scene_with_labels(c, seed, 160, Style::ihc, labels, owner);
    if (scene.imaging.membrane <= 0) continue;
    ++sheets;
    cv::Mat rgba(scene.height, scene.width, CV_8UC4);
    render_region(scene, labels, owner, cv::Rect(0, 0, scene.width, scene.height), rgba);
    with_sheets += brown_outside(rgba, labels);
    for (size_t k = 0; k < owner.size(); ++k) {
      const Nucleus& n = scene.nuclei[static_cast<size_t>(owner[k])];
      cv::Mat inside = labels == static_cast<int>(k + 1);
      if (cv::countNonZero(inside) < 30 || n.defocus || n.cyto2 <= 0) continue;
      cv::Scalar m = cv::mean(rgba, inside);
      ++nuclei;
      blue_nuclei += m[2] > m[0];  // haematoxylin: blue above red
    }
  }
  ASSERT_GE(sheets, 5);
  EXPECT_GT(with_sheets / sheets, 0.2);
  EXPECT_GT(nuclei, 40);
  EXPECT_GT(blue_nuclei, 0.8 * nuclei);
}
