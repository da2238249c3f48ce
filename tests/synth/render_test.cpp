// Rendering: tiles give the bytes of one region whatever the optional effects, and each effect
// (phase halo, defocus, overlap signal, JPEG blocks) does what docs/synth.md says.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "paint.hpp"  // private headers of src/synth
#include "scene.hpp"

using namespace nucseg::synth::detail;

namespace {

constexpr Style kStyles[] = {Style::fluorescence, Style::brightfield, Style::histology, Style::ihc, Style::phase};

cv::Mat render_all(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner) {
  cv::Mat out(scene.height, scene.width, CV_8UC4);
  render_region(scene, labels, owner, cv::Rect(0, 0, scene.width, scene.height), out);
  return out;
}

cv::Mat grey(const cv::Mat& rgba) {
  cv::Mat g;
  cv::cvtColor(rgba, g, cv::COLOR_RGBA2GRAY);
  return g;
}

// Every optional effect on: tilt, vignette, defocus, fixed-pattern noise, hot pixels, JPEG,
// fibres and junk; in ihc, membrane sheets (whose cells reach across tile borders).
void force_every_effect(Scene& scene) {
  Imaging& im = scene.imaging;
  im.blur_sigma2 = 2.5f * im.blur_sigma;
  im.tilt_cos = 0.6f;
  im.tilt_sin = 0.8f;
  im.vignette = 0.3f;
  im.pattern_noise = 0.01f;
  im.column_noise = 0.01f;
  im.hot_pixels = 0.01f;
  im.jpeg_quality = 40;
  for (size_t i = 0; i < scene.nuclei.size(); i += 3) scene.nuclei[i].defocus = true;
  if (im.style == Style::ihc) {
    im.membrane = 1.0f;
    for (size_t i = 0; i < scene.nuclei.size(); i += 2) scene.nuclei[i].cyto2 = 0.8f;
  }
  Debris fibre;
  fibre.kind = DebrisKind::fibre;
  fibre.cx = 10, fibre.cy = 20, fibre.x1 = 90, fibre.y1 = 160, fibre.x2 = 190, fibre.y2 = 40, fibre.r = 1;
  Debris junk;
  junk.kind = DebrisKind::junk;
  junk.cx = 100, junk.cy = 90, junk.r = 12, junk.intensity = 0.3f;
  scene.debris.push_back(fibre);
  scene.debris.push_back(junk);
}

// A quiet scene for measuring optics: no noise, flat illumination, no debris or cell bodies.
Scene quiet_scene(Style style, uint64_t seed, int side) {
  nucseg::SynthConfig c;
  c.min_radius = 7;
  c.max_radius = 9;
  c.cluster_fraction = 0;
  Scene scene = make_scene(c, seed, side, side, style);
  Imaging& im = scene.imaging;
  im.read_noise = im.shot_noise = im.pattern_noise = im.column_noise = im.hot_pixels = 0;
  im.jpeg_quality = 0;
  im.illum_ax = im.illum_ay = im.vignette = im.offset_gx = im.offset_gy = 0;
  im.blur_sigma = 1.0f;
  im.blur_sigma2 = 0;
  im.cytoplasm = 0;
  scene.debris.clear();
  for (Nucleus& n : scene.nuclei) n.defocus = false;
  return scene;
}

// Pixel values that differ between rendering `scene` in one region and in tiles of tw x th.
int tiled_differences(const Scene& scene, int tw, int th) {
  std::vector<int> owner;
  cv::Mat labels = rasterize_labels(scene, owner);
  EXPECT_FALSE(owner.empty());
  cv::Mat whole = render_all(scene, labels, owner), tiled(scene.height, scene.width, CV_8UC4, cv::Scalar::all(0));
  for (int y = 0; y < scene.height; y += th)
    for (int x = 0; x < scene.width; x += tw)
      render_region(scene, labels, owner, cv::Rect(x, y, std::min(tw, scene.width - x), std::min(th, scene.height - y)),
                    tiled);
  return cv::countNonZero(whole.reshape(1) != tiled.reshape(1));
}

}  // namespace

TEST(SynthRender, TilesGiveTheSameBytesAsOneRegion) {
  nucseg::SynthConfig c;
  for (bool every_effect : {false, true}) {
    for (Style style : kStyles) {
      Scene scene = make_scene(c, 1234 + static_cast<int>(style), 203, 171, style);
      if (every_effect) force_every_effect(scene);
      EXPECT_EQ(tiled_differences(scene, 50, 37), 0) << style_name(style) << " " << every_effect;
    }
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

TEST(SynthRender, PhaseContrastPutsABrightHaloAroundDarkNuclei) {
  // Ring 2-5 px outside the nuclei against background more than 12 px away from any nucleus.
  auto ring_and_far = [](const Scene& scene) {
    std::vector<int> owner;
    cv::Mat labels = rasterize_labels(scene, owner);
    cv::Mat g = grey(render_all(scene, labels, owner)), dist;
    cv::distanceTransform(labels == 0, dist, cv::DIST_L2, 5);
    cv::Mat ring = (dist > 1.5) & (dist <= 5), far = dist > 12;
    EXPECT_GT(cv::countNonZero(far), 1000);
    return std::array<double, 3>{cv::mean(g, ring)[0], cv::mean(g, far)[0], cv::mean(g, labels > 0)[0]};
  };
  for (uint64_t seed : {5, 6, 7}) {
    Scene scene = quiet_scene(Style::phase, seed, 256);
    scene.imaging.halo = 1.0f;
    scene.imaging.halo_sigma = 3.0f;
    auto [ring, far, inside] = ring_and_far(scene);
    EXPECT_GT(ring, far + 5) << "seed " << seed;  // grey levels out of 255
    EXPECT_LT(inside, far - 5) << "seed " << seed;
    scene.imaging.halo = 0;  // no phase ring: no halo, the blur only spills darkness
    auto [ring0, far0, inside0] = ring_and_far(scene);
    EXPECT_LE(ring0, far0) << "seed " << seed;
    EXPECT_LT(inside0, inside) << "seed " << seed;
  }
}

TEST(SynthRender, OutOfFocusNucleiAreSofter) {
  Scene scene = quiet_scene(Style::fluorescence, 11, 200);
  std::vector<int> owner;
  cv::Mat labels = rasterize_labels(scene, owner);
  ASSERT_GT(owner.size(), 5u);
  auto sharpness = [&](const Scene& s) {
    cv::Mat g, lap;
    grey(render_all(s, labels, owner)).convertTo(g, CV_32F);
    cv::Laplacian(g, lap, CV_32F);
    cv::Mat near_nuclei;
    cv::dilate(labels > 0, near_nuclei, cv::Mat(), cv::Point(-1, -1), 2);
    return cv::mean(cv::abs(lap), near_nuclei)[0];
  };
  double focused = sharpness(scene);
  for (Nucleus& n : scene.nuclei) n.defocus = true;
  scene.imaging.defocus_sigma = 2.5f;
  double defocused = sharpness(scene);
  EXPECT_LT(defocused * 2, focused);
}

TEST(SynthRender, OverlapsAddTheSignalOfTheNucleusBeneath) {
  // Fluorescence: light of stacked nuclei adds up. Paint the planes with and without the
  // lower nucleus's signal: they differ exactly on its footprint, also under the upper one.
  nucseg::SynthConfig c;
  c.cluster_fraction = 1;
  c.density = 2;
  int checked = 0;
  for (uint64_t seed = 1; seed < 40 && checked < 5; ++seed) {
    Scene scene = make_scene(c, seed, 160, 160, Style::fluorescence);
    std::vector<int> owner;
    cv::Mat labels = rasterize_labels(scene, owner);
    for (size_t k = 0; k < owner.size() && checked < 5; ++k) {
      Nucleus& lower = scene.nuclei[static_cast<size_t>(owner[k])];
      if (lower.defocus) continue;
      // Pixels of the lower nucleus's shape that another (upper) label owns.
      cv::Mat hidden(labels.size(), CV_8U, cv::Scalar(0)), own = labels == static_cast<int>(k + 1);
      for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) {
          int l = labels.at<int>(y, x);
          if (l == 0 || l == static_cast<int>(k + 1) || lower.shape_s(x + 0.5f, y + 0.5f) >= 1) continue;
          const Nucleus& up = scene.nuclei[static_cast<size_t>(owner[static_cast<size_t>(l - 1)])];
          if (up.z > lower.z) hidden.at<uint8_t>(y, x) = 255;
        }
      if (cv::countNonZero(hidden) < 10) continue;
      const cv::Rect all(0, 0, scene.width, scene.height);
      Planes with = paint_planes(scene, labels, owner, all);
      const float keep = lower.intensity;
      lower.intensity = 0;
      Planes without = paint_planes(scene, labels, owner, all);
      lower.intensity = keep;
      cv::Mat diff = with.a - without.a;
      double lo = 0;
      cv::minMaxLoc(diff, &lo, nullptr, nullptr, nullptr, hidden);
      EXPECT_GT(lo, 0.0) << "seed " << seed << " label " << k + 1;  // every hidden pixel gets its light
      cv::Mat outside = (own | hidden) == 0;
      double hi = 0;
      cv::minMaxLoc(cv::abs(diff), nullptr, &hi, nullptr, nullptr, outside);
      EXPECT_EQ(hi, 0.0) << "seed " << seed << " label " << k + 1;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5);
}

TEST(SynthRender, JpegBlocksFollowTheImageGridAndTheQuality) {
  cv::Mat rgb(40, 56, CV_32FC3);
  cv::randu(rgb, 0.2, 0.8);
  cv::GaussianBlur(rgb, rgb, cv::Size(5, 5), 1.0);
  const cv::Size image(53, 37);  // partial blocks at the right and bottom edges
  cv::Mat img = rgb(cv::Rect(0, 0, 53, 37)).clone();
  auto error = [&](int quality) {
    cv::Mat out = img.clone();
    jpeg_blocks(out, {0, 0}, image, quality);
    return cv::norm(out, img, cv::NORM_L2) / std::sqrt(static_cast<double>(img.total() * 3));
  };
  double e100 = error(100), e95 = error(95), e20 = error(20);
  EXPECT_LT(e100, 0.5 / 255);  // quantisation steps of 1 in the DCT domain
  EXPECT_GT(e95, e100);
  EXPECT_LT(e95, 4.0 / 255);
  EXPECT_GT(e20, 2 * e95);
  // Two regions cut on the block grid give the same pixels as the whole image.
  cv::Mat whole = img.clone(), left = img(cv::Rect(0, 0, 24, 37)).clone(), right = img(cv::Rect(24, 0, 29, 37)).clone();
  jpeg_blocks(whole, {0, 0}, image, 30);
  jpeg_blocks(left, {0, 0}, image, 30);
  jpeg_blocks(right, {24, 0}, image, 30);
  cv::Mat joined;
  cv::hconcat(left, right, joined);
  EXPECT_EQ(cv::norm(whole, joined, cv::NORM_INF), 0.0);
}

// Membrane sheets of large nuclei, whose cells would reach past kMaxCellReach unclamped: tiles
// still equal one region (each tile sees every nucleus that can own one of its pixels).
TEST(SynthRender, LargeMembraneCellsTileLikeOneRegion) {
  nucseg::SynthConfig c;
  c.min_radius = 26;
  c.max_radius = 36;
  for (uint64_t seed : {11u, 12u, 13u}) {
    Scene scene = make_scene(c, seed, 260, 230, Style::ihc);
    force_every_effect(scene);  // membrane sheets, every other cell positive
    EXPECT_EQ(tiled_differences(scene, 53, 41), 0) << "seed " << seed;
  }
}
