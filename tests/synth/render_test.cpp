// The big image is rendered tile by tile: every tiling must give the same bytes.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "scene.hpp"  // private header of src/synth

using namespace nucseg::synth::detail;

TEST(SynthRender, TilesGiveTheSameBytesAsOneRegion) {
  nucseg::SynthConfig c;
  for (Style style : {Style::fluorescence, Style::brightfield, Style::histology}) {
    Scene scene = make_scene(c, 1234 + static_cast<int>(style), 203, 171, style);
    std::vector<int> owner;
    cv::Mat labels = rasterize_labels(scene, owner);
    ASSERT_FALSE(owner.empty());
    cv::Mat whole(171, 203, CV_8UC4), tiled(171, 203, CV_8UC4, cv::Scalar::all(0));
    render_region(scene, labels, owner, cv::Rect(0, 0, 203, 171), whole);
    for (int y = 0; y < 171; y += 37)
      for (int x = 0; x < 203; x += 50)
        render_region(scene, labels, owner, cv::Rect(x, y, std::min(50, 203 - x), std::min(37, 171 - y)), tiled);
    EXPECT_EQ(cv::countNonZero(whole.reshape(1) != tiled.reshape(1)), 0) << style_name(style);
  }
}

TEST(SynthRender, NoGapBetweenClusterMembers) {
  // Pixels between two overlapping nuclei of one cluster belong to one of them: the union of
  // their labels is one connected piece.
  nucseg::SynthConfig c;
  c.cluster_fraction = 1.0;
  Scene scene = make_scene(c, 99, 256, 256, Style::fluorescence);
  std::vector<int> owner;
  cv::Mat labels = rasterize_labels(scene, owner);
  int joined = 0;
  for (size_t i = 0; i + 1 < owner.size(); ++i) {
    const Nucleus& a = scene.nuclei[static_cast<size_t>(owner[i])];
    const Nucleus& b = scene.nuclei[static_cast<size_t>(owner[i + 1])];
    if (a.cluster < 0 || a.cluster != b.cluster) continue;
    cv::Mat both = (labels == static_cast<int>(i + 1)) | (labels == static_cast<int>(i + 2)), comp;
    // Consecutive members of a cluster need not touch each other directly; count those that do.
    if (cv::connectedComponents(both, comp, 4, CV_32S) == 2) ++joined;
  }
  EXPECT_GT(joined, 3);
}
