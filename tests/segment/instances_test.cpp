// Instances from class probabilities / class maps, in both seed modes: touching nuclei split by
// a border band (interior) or by the distance map (distance), small objects removed, holes
// filled, labels consecutive.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "nucseg/core/config.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/segment/kaggle_score.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/label_ops.hpp"
#include "nucseg/segment/measure.hpp"
#include "test_util.hpp"

using namespace nucseg::segment;
using nucseg::test::class_map_from_labels;

namespace {

// Soft probabilities from a hard class map: the labelled class gets `confidence`, the other
// two share the rest, so the three maps sum to 1.
std::vector<cv::Mat> soft_probs(const cv::Mat& cls, float confidence) {
  std::vector<cv::Mat> probs(3);
  for (int k = 0; k < 3; ++k) {
    probs[static_cast<size_t>(k)] = cv::Mat(cls.size(), CV_32FC1, cv::Scalar((1.0f - confidence) / 2));
    probs[static_cast<size_t>(k)].setTo(confidence, cls == k);
  }
  return probs;
}

SegmentParams interior_mode() {
  SegmentParams p;
  p.seeds = SeedMode::interior;
  return p;
}

SegmentParams distance_mode() {
  SegmentParams p;
  p.seeds = SeedMode::distance;
  return p;
}

int count_labels(const cv::Mat& labels) {
  std::set<int> seen;
  for (auto it = labels.begin<int32_t>(); it != labels.end<int32_t>(); ++it)
    if (*it) seen.insert(*it);
  if (!seen.empty()) {
    EXPECT_EQ(*seen.begin(), 1);
    EXPECT_EQ(*seen.rbegin(), static_cast<int>(seen.size())) << "labels are not consecutive";
  }
  return static_cast<int>(seen.size());
}

}  // namespace

TEST(InteriorSeeds, TwoTouchingDiscsSeparatedOnlyByBorderBand) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);  // overlaps: the discs touch along a chord
  const cv::Mat cls = class_map_from_labels(truth, 2);
  // The foreground is one connected blob: only the border class separates the nuclei.
  cv::Mat fg_cc;
  ASSERT_EQ(cv::connectedComponents(cls != 0, fg_cc), 2);
  const SegmentParams params = interior_mode();
  const cv::Mat from_classes = instances_from_classes(cls, params);
  EXPECT_EQ(count_labels(from_classes), 2);
  EXPECT_GT(nucseg::segment::score_image(truth, from_classes).score, 0.9);

  const cv::Mat from_probs = instances_from_probabilities(soft_probs(cls, 0.8f), params);
  EXPECT_EQ(count_labels(from_probs), 2);
  EXPECT_GT(nucseg::segment::score_image(truth, from_probs).score, 0.9);
  // Without the border band the same blob is one object.
  const cv::Mat merged = instances_from_classes(cv::Mat(cls != 0) / 255, params);
  EXPECT_EQ(count_labels(merged), 1);
}

TEST(InteriorSeeds, RecoversManyTouchingNucleiFromDerivedClassMap) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const cv::Mat truth = nucseg::test::touching_discs(160, 200, 30, 6.0, 12.0, seed);
    const cv::Mat cls = class_map_from_labels(truth, 2);
    SegmentParams params = interior_mode();
    params.min_area = 4;
    const cv::Mat pred = instances_from_classes(cls, params);
    const auto s = nucseg::segment::score_image(truth, pred);
    EXPECT_GT(s.score, 0.9) << "seed " << seed << " n_true " << s.n_true << " n_pred " << s.n_pred;
    EXPECT_EQ(s.n_pred, s.n_true) << "seed " << seed;
    const cv::Mat pp = instances_from_probabilities(soft_probs(cls, 0.7f), params);
    EXPECT_GT(nucseg::segment::score_image(truth, pp).score, 0.9) << "seed " << seed;
  }
}

TEST(InteriorSeeds, SmallObjectsRemoved) {
  cv::Mat cls = cv::Mat::zeros(40, 40, CV_8UC1);
  cls(cv::Rect(5, 5, 10, 10)).setTo(2);
  cls(cv::Rect(7, 7, 6, 6)).setTo(1);  // 100 px object
  cls(cv::Rect(30, 30, 3, 3)).setTo(1);  // 9 px object
  SegmentParams params = interior_mode();
  params.min_area = 12;
  cv::Mat labels = instances_from_classes(cls, params);
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(labels.at<int32_t>(31, 31), 0);
  EXPECT_EQ(cv::countNonZero(labels), 100);
  params.min_area = 9;
  EXPECT_EQ(count_labels(instances_from_classes(cls, params)), 2);
}

TEST(InteriorSeeds, HolesFilled) {
  cv::Mat cls = cv::Mat::zeros(40, 40, CV_8UC1);
  cls(cv::Rect(5, 5, 20, 20)).setTo(2);
  cls(cv::Rect(7, 7, 16, 16)).setTo(1);
  cls(cv::Rect(12, 12, 5, 5)).setTo(0);  // background hole inside the nucleus
  const cv::Mat labels = instances_from_classes(cls, interior_mode());
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(labels.at<int32_t>(14, 14), 1);
  EXPECT_EQ(cv::countNonZero(labels), 400);
}

TEST(InteriorSeeds, ForegroundWithoutSeedIsKept) {
  cv::Mat cls = cv::Mat::zeros(30, 30, CV_8UC1);
  cls(cv::Rect(2, 2, 6, 6)).setTo(2);  // a small nucleus predicted as border only
  cls(cv::Rect(15, 15, 10, 10)).setTo(2);
  cls(cv::Rect(17, 17, 6, 6)).setTo(1);
  const cv::Mat labels = instances_from_classes(cls, interior_mode());
  EXPECT_EQ(count_labels(labels), 2);
  EXPECT_NE(labels.at<int32_t>(4, 4), 0);
}

TEST(InteriorSeeds, SeedThresholdControlsSeeds) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);
  auto probs = soft_probs(class_map_from_labels(truth, 2), 0.6f);
  SegmentParams params = interior_mode();
  params.seed_threshold = 0.5;
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 2);
  params.seed_threshold = 0.65;  // no interior pixel is that confident: one blob, no split
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 1);
}

TEST(InteriorSeeds, RejectsBadInput) {
  EXPECT_THROW(instances_from_probabilities({cv::Mat::zeros(4, 4, CV_32FC1)}, interior_mode()), nucseg::Error);
  EXPECT_THROW(instances_from_classes(cv::Mat::zeros(4, 4, CV_32SC1), interior_mode()), nucseg::Error);
  cv::Mat bad = cv::Mat::zeros(4, 4, CV_8UC1);
  bad.at<uint8_t>(1, 1) = 7;
  EXPECT_THROW(instances_from_classes(bad, interior_mode()), nucseg::Error);
  SegmentParams p = interior_mode();
  p.seed_threshold = 1.5;
  EXPECT_THROW(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), p), nucseg::Error);
  p = distance_mode();
  p.seed_distance = 0;
  EXPECT_THROW(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), p), nucseg::Error);
  EXPECT_THROW(seed_mode_from_string("peaks"), nucseg::Error);
  EXPECT_EQ(seed_mode_from_string("interior"), SeedMode::interior);
  EXPECT_EQ(cv::countNonZero(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), interior_mode())), 0);
  EXPECT_EQ(cv::countNonZero(instances_from_classes(cv::Mat::zeros(4, 4, CV_8UC1), distance_mode())), 0);
}

// A 12x48 bar: its foreground distance map is one flat ridge (one seed), so only the predicted
// border band across the middle (a valley of the interior's distance map) splits it in two.
cv::Mat split_bar() {
  cv::Mat cls = cv::Mat::zeros(24, 64, CV_8UC1);
  cls(cv::Rect(8, 6, 48, 12)).setTo(2);
  cls(cv::Rect(10, 8, 20, 8)).setTo(1);
  cls(cv::Rect(34, 8, 20, 8)).setTo(1);  // columns 30..33: the border band between the halves
  return cls;
}

TEST(DistanceSeeds, BorderBandSplitsWhatTheShapeAloneDoesNot) {
  const cv::Mat cls = split_bar();
  const cv::Mat split = instances_from_classes(cls, distance_mode());
  EXPECT_EQ(count_labels(split), 2);
  EXPECT_NE(split.at<int32_t>(12, 15), split.at<int32_t>(12, 50));
  cv::Mat no_band = cls.clone();
  no_band(cv::Rect(10, 8, 44, 8)).setTo(1);
  EXPECT_EQ(count_labels(instances_from_classes(no_band, distance_mode())), 1);
  EXPECT_EQ(count_labels(instances_from_classes(cv::Mat(cls != 0) / 255, distance_mode())), 1);
}

// Without any border prediction, round touching nuclei still get a seed each from the
// foreground's distance map (the classical watershed's cue); interior mode merges them.
TEST(DistanceSeeds, TouchingDiscsSplitByShapeWithoutBorderBand) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);
  const cv::Mat all_interior = cv::Mat(truth != 0) / 255;
  const cv::Mat labels = instances_from_classes(all_interior, distance_mode());
  EXPECT_EQ(count_labels(labels), 2);
  EXPECT_GT(nucseg::segment::score_image(truth, labels).score, 0.8);
  EXPECT_EQ(count_labels(instances_from_classes(all_interior, interior_mode())), 1);
}

TEST(DistanceSeeds, SeedDistanceMergesNearbyPeaks) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 39, 9, 2);  // centres 17 px apart, the left peak higher
  const cv::Mat all_interior = cv::Mat(truth != 0) / 255;
  SegmentParams params = distance_mode();
  EXPECT_EQ(count_labels(instances_from_classes(all_interior, params)), 2);
  params.seed_distance = 20;  // one neighbourhood spans both centres: one seed
  EXPECT_EQ(count_labels(instances_from_classes(all_interior, params)), 1);
}

TEST(DistanceSeeds, SeedThresholdDefinesConfidentInterior) {
  const auto probs = soft_probs(split_bar(), 0.6f);
  SegmentParams params = distance_mode();
  params.seed_threshold = 0.5;
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 2);
  params.seed_threshold = 0.65;  // no interior pixel is that confident: the band is not seen
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, params)), 1);
}

TEST(DistanceSeeds, PredictedHoleDoesNotSplitANucleus) {
  cv::Mat cls = cv::Mat::zeros(40, 40, CV_8UC1);
  cls(cv::Rect(5, 5, 20, 20)).setTo(2);
  cls(cv::Rect(7, 7, 16, 16)).setTo(1);
  cls(cv::Rect(12, 12, 5, 5)).setTo(0);  // a ring-shaped foreground would give a ring of peaks
  const cv::Mat labels = instances_from_classes(cls, distance_mode());
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_EQ(cv::countNonZero(labels), 400);
}

// Perfect class maps: interior mode is exact (InteriorSeeds above); distance mode's fronts meet
// where the smoothed interior distance is lowest, not always the band's middle, and without
// segment.core_seed_area it may merge a small nucleus into a big neighbour whose distance peak
// covers it: measured 0.93-0.99 per map before that key, 0.96-0.99 (30 of 30 objects) with it
// at its default, against 1.0.
TEST(DistanceSeeds, TouchingNucleiFromDerivedClassMap) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const cv::Mat truth = nucseg::test::touching_discs(160, 200, 30, 6.0, 12.0, seed);
    const cv::Mat cls = class_map_from_labels(truth, 2);
    SegmentParams params = distance_mode();
    params.min_area = 4;
    const auto s = nucseg::segment::score_image(truth, instances_from_classes(cls, params));
    std::printf("distance mode, perfect map, seed %u: score %.3f, %d of %d objects\n", seed, s.score, s.n_pred, s.n_true);
    EXPECT_GT(s.score, 0.85) << "seed " << seed << " n_true " << s.n_true << " n_pred " << s.n_pred;
    EXPECT_LE(std::abs(s.n_pred - s.n_true), 2) << "seed " << seed;
  }
}

// A nucleus partly hidden behind a larger one is a crescent: the foreground's distance map runs
// on across the cut into the large neighbour, so the sum of the two maps has no peak in it, but
// the interior map shows it cut off. core_seed_area gives such a component its own seed.
namespace {

// Area of the 4-connected component of the class map's interior that holds `at`.
int interior_component_area(const cv::Mat& cls, cv::Point at) {
  cv::Mat comp, stats, centroids;
  cv::connectedComponentsWithStats(cls == 1, comp, stats, centroids, 4, CV_32S);
  return stats.at<int>(comp.at<int32_t>(at), cv::CC_STAT_AREA);
}

SegmentParams with_core_seeds(int area) {
  SegmentParams params = distance_mode();
  params.core_seed_area = area;
  return params;
}

}  // namespace

TEST(DistanceSeeds, CoreSeedAreaSeedsAnInteriorComponentWithoutPeak) {
  cv::Mat truth = cv::Mat::zeros(64, 96, CV_32SC1);
  nucseg::test::paint_disc(truth, 32, 54, 12, 2);  // behind
  nucseg::test::paint_disc(truth, 32, 36, 18, 1);  // in front: owns the overlap
  const cv::Mat cls = class_map_from_labels(truth, 2);
  ASSERT_EQ(cls.at<uchar>(32, 60), 1);
  ASSERT_EQ(count_labels(instances_from_classes(cls, with_core_seeds(0))), 1)
      << "the geometry no longer hides the crescent's peak";
  const cv::Mat labels = instances_from_classes(cls, with_core_seeds(30));
  EXPECT_EQ(count_labels(labels), 2);
  EXPECT_GT(nucseg::segment::score_image(truth, labels).score, 0.8);
  const int crescent = interior_component_area(cls, {60, 32});
  EXPECT_EQ(count_labels(instances_from_classes(cls, with_core_seeds(crescent))), 2) << crescent;
  EXPECT_EQ(count_labels(instances_from_classes(cls, with_core_seeds(crescent + 1))), 1) << crescent;
}

// Two hidden crescents, one on each side: each gets a seed of its own (consecutive labels,
// checked by count_labels). Then the image edge cuts the left one: the walk passes along the
// edge, and the cut piece has a distance peak of its own there (the distance transform does not
// count the edge as background), so only the right crescent needs the walk's seed.
TEST(DistanceSeeds, CoreSeedAreaSeedsEveryUnseededComponent) {
  cv::Mat truth = cv::Mat::zeros(64, 110, CV_32SC1);
  nucseg::test::paint_disc(truth, 32, 73, 12, 2);  // behind, right
  nucseg::test::paint_disc(truth, 32, 37, 12, 3);  // behind, left
  nucseg::test::paint_disc(truth, 32, 55, 18, 1);  // in front
  const cv::Mat both = class_map_from_labels(truth, 2);
  EXPECT_EQ(count_labels(instances_from_classes(both, with_core_seeds(0))), 1);
  EXPECT_EQ(count_labels(instances_from_classes(both, with_core_seeds(30))), 3);
  const cv::Mat cut = both(cv::Rect(27, 0, 83, 64)).clone();
  ASSERT_EQ(cut.at<uchar>(32, 0), 1);
  const cv::Mat without = instances_from_classes(cut, with_core_seeds(0));
  EXPECT_EQ(count_labels(without), 2);
  EXPECT_NE(without.at<int32_t>(32, 0), without.at<int32_t>(32, 28));   // the cut piece: a peak at the edge
  EXPECT_EQ(without.at<int32_t>(32, 54), without.at<int32_t>(32, 28));  // the right crescent: merged
  EXPECT_EQ(count_labels(instances_from_classes(cut, with_core_seeds(interior_component_area(cut, {0, 32})))), 3);
}

// A nucleus beside a wide sheet the network calls border (a DAB-stained cell layer), and a small
// nucleus predicted as border only: interior_reach keeps the nucleus to within its reach of the
// interior and drops the far sheet, and keeps the border-only nucleus whole.
TEST(DistanceSeeds, InteriorReachDropsFarForegroundOfComponentsWithInterior) {
  cv::Mat cls = cv::Mat::zeros(80, 120, CV_8UC1);
  cls(cv::Rect(40, 10, 70, 60)).setTo(2);  // the sheet
  cv::circle(cls, cv::Point(30, 40), 10, cv::Scalar(2), cv::FILLED);
  cv::circle(cls, cv::Point(30, 40), 7, cv::Scalar(1), cv::FILLED);
  cv::circle(cls, cv::Point(15, 74), 4, cv::Scalar(2), cv::FILLED);  // border only, apart
  SegmentParams params = distance_mode();
  params.interior_reach = 0;
  const cv::Mat all = instances_from_classes(cls, params);
  EXPECT_NE(all.at<int32_t>(65, 105), 0);  // the far corner of the sheet is an object
  params.interior_reach = 6;
  const cv::Mat near = instances_from_classes(cls, params);
  EXPECT_EQ(count_labels(near), 2);
  EXPECT_EQ(near.at<int32_t>(65, 105), 0);
  EXPECT_NE(near.at<int32_t>(40, 30), 0);
  EXPECT_NE(near.at<int32_t>(74, 15), 0);
  EXPECT_EQ(cv::countNonZero(near == near.at<int32_t>(74, 15)), cv::countNonZero(cls(cv::Rect(0, 60, 40, 20))));
  // The nucleus ends within its reach of the interior (radius 7 + 6, a disc).
  const cv::Mat nucleus = near == near.at<int32_t>(40, 30);
  cv::Mat ring = cv::Mat::zeros(cls.size(), CV_8UC1);
  cv::circle(ring, cv::Point(30, 40), 14, cv::Scalar(255), cv::FILLED);
  EXPECT_EQ(cv::countNonZero(nucleus & ~ring), 0);
  EXPECT_GT(cv::countNonZero(nucleus), 300);  // the whole disc of radius 10 (~314 px) at least
}

// Four nuclei in a border sheet: their reaches enclose a patch of sheet farther than the reach
// from every interior, which must stay out (a hole fill would put it back as foreground).
TEST(DistanceSeeds, InteriorReachLeavesAnEnclosedPatchOfSheetOut) {
  cv::Mat cls = cv::Mat::zeros(60, 60, CV_8UC1);
  cls(cv::Rect(5, 5, 50, 50)).setTo(2);
  for (cv::Point c : {cv::Point(20, 20), cv::Point(40, 20), cv::Point(20, 40), cv::Point(40, 40)})
    cv::circle(cls, c, 5, cv::Scalar(1), cv::FILLED);
  SegmentParams params = distance_mode();
  params.interior_reach = 6;
  const cv::Mat labels = instances_from_classes(cls, params);
  EXPECT_EQ(labels.at<int32_t>(30, 30), 0);
  EXPECT_EQ(count_labels(labels), 4);
  params.interior_reach = 0;
  EXPECT_NE(instances_from_classes(cls, params).at<int32_t>(30, 30), 0);
}

TEST(DistanceSeeds, CoreSeedAreaKeyAndLimits) {
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {}).segment).core_seed_area, 30);
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {"segment.core_seed_area=0"}).segment).core_seed_area, 0);
  EXPECT_THROW(nucseg::load_config({}, {"segment.core_seed_area=-1"}), nucseg::Error);
  const cv::Mat cls = split_bar();
  EXPECT_THROW(instances_from_classes(cls, with_core_seeds(-1)), nucseg::Error);
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {}).segment).interior_reach, 6);
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {"segment.interior_reach=0"}).segment).interior_reach, 0);
  EXPECT_THROW(nucseg::load_config({}, {"segment.interior_reach=-1"}), nucseg::Error);
  SegmentParams reach = distance_mode();
  reach.interior_reach = -1;
  EXPECT_THROW(instances_from_classes(cls, reach), nucseg::Error);
}

TEST(LabelOps, FloodSplitsPlateauHalfway) {
  cv::Mat markers = cv::Mat::zeros(1, 11, CV_32SC1);
  markers.at<int32_t>(0, 0) = 1;
  markers.at<int32_t>(0, 10) = 2;
  const cv::Mat elevation = cv::Mat::ones(1, 11, CV_32FC1);
  cv::Mat mask = cv::Mat(1, 11, CV_8UC1, cv::Scalar(1));
  mask.at<uint8_t>(0, 5) = 1;
  flood_markers(elevation, mask, markers);
  EXPECT_EQ(markers.at<int32_t>(0, 4), 1);
  EXPECT_EQ(markers.at<int32_t>(0, 6), 2);
  cv::Mat lab = (cv::Mat_<int32_t>(1, 6) << 0, 5, 5, 0, 9, 9);
  EXPECT_EQ(relabel_sequential(lab), 2);
  EXPECT_EQ(lab.at<int32_t>(0, 4), 2);
}

// Solidity as the objects table measures it: a disc (0.93) stays, an L (0.69) and half a ring
// (a crescent) go at 0.85; every object stays at exactly its own listed solidity and goes just
// above it (the comparison is the table's area / hull); label values need not be consecutive.
TEST(LabelOps, RaggedObjectsRemovedBySolidity) {
  cv::Mat lab = cv::Mat::zeros(60, 120, CV_32SC1);
  cv::circle(lab, {15, 15}, 10, cv::Scalar(5), cv::FILLED);
  lab(cv::Rect(35, 5, 20, 6)).setTo(9);  // an L: 20 x 6 + 6 x 14
  lab(cv::Rect(35, 11, 6, 14)).setTo(9);
  cv::ellipse(lab, {70, 40}, {15, 15}, 0, 180, 360, cv::Scalar(12), 3);  // a crescent, 3 px thick
  lab(cv::Rect(95, 30, 12, 7)).setTo(20);  // a rectangle: solidity 1
  const std::vector<int> ids = {5, 9, 12, 20};
  const auto table = measure_objects("t", lab, cv::Mat());
  ASSERT_EQ(table.solidity.size(), ids.size());
  EXPECT_GT(table.solidity[0], 0.9);
  EXPECT_LT(table.solidity[1], 0.7);
  EXPECT_LT(table.solidity[2], 0.5);
  EXPECT_EQ(table.solidity[3], 1.0);
  auto area_of = [](const cv::Mat& m, int id) { return cv::countNonZero(m == id); };

  cv::Mat kept = lab.clone();
  remove_ragged_objects(kept, 0.85);
  EXPECT_EQ(area_of(kept, 5), area_of(lab, 5));
  EXPECT_EQ(area_of(kept, 9), 0);
  EXPECT_EQ(area_of(kept, 12), 0);
  EXPECT_EQ(area_of(kept, 20), area_of(lab, 20));

  for (size_t k = 0; k < ids.size(); ++k) {
    const double s = table.solidity[k];
    kept = lab.clone();
    remove_ragged_objects(kept, s);  // exactly its own solidity: kept, and every less convex one gone
    for (size_t j = 0; j < ids.size(); ++j)
      EXPECT_EQ(area_of(kept, ids[j]), table.solidity[j] >= s ? area_of(lab, ids[j]) : 0)
          << "threshold " << s << ", object " << ids[j];
    if (s >= 1.0) continue;
    kept = lab.clone();
    remove_ragged_objects(kept, std::nextafter(s, 2.0));  // the next double up: it goes
    EXPECT_EQ(area_of(kept, ids[k]), 0) << "object " << ids[k];
  }

  kept = lab.clone();
  remove_ragged_objects(kept, 1.0);  // only the rectangle is its own hull
  EXPECT_EQ(cv::countNonZero(kept), area_of(lab, 20));
  kept = lab.clone();
  remove_ragged_objects(kept, 0.0);  // off
  EXPECT_EQ(cv::countNonZero(kept != lab), 0);
}

// segment.min_solidity drops a ragged fragment beside a nucleus (brightfield cytoplasm read as
// border, docs/benchmarks.md); 0, the default, keeps it.
TEST(DistanceSeeds, MinSolidityRemovesARaggedFragment) {
  cv::Mat truth = cv::Mat::zeros(64, 64, CV_32SC1);
  cv::circle(truth, {20, 32}, 9, cv::Scalar(1), cv::FILLED);
  cv::ellipse(truth, {40, 32}, {14, 14}, 0, -70, 70, cv::Scalar(2), 3);  // an arc 3 px thick, apart
  const cv::Mat cls = class_map_from_labels(truth, 2);
  SegmentParams params = distance_mode();
  params.seed_distance = 20;  // one seed per component: the arc stays one object
  // The arc's thickest part holds a little interior: interior_reach would trim its ends and
  // leave a compact piece around it. This test is about the solidity of the whole arc.
  params.interior_reach = 0;
  EXPECT_EQ(count_labels(instances_from_probabilities(soft_probs(cls, 0.9f), params)), 2);
  params.min_solidity = 0.85;
  const cv::Mat labels = instances_from_probabilities(soft_probs(cls, 0.9f), params);
  EXPECT_EQ(count_labels(labels), 1);
  EXPECT_NE(labels.at<int32_t>(32, 20), 0);
  params.min_solidity = 1.5;
  EXPECT_THROW(instances_from_probabilities(soft_probs(cls, 0.9f), params), nucseg::Error);
  // The key reaches the instance step; out of range it is a configuration error.
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {"segment.min_solidity=0.85"}).segment).min_solidity, 0.85);
  EXPECT_EQ(params_from_config(nucseg::load_config({}, {}).segment).min_solidity, 0.0);
  EXPECT_THROW(nucseg::load_config({}, {"segment.min_solidity=1.5"}), nucseg::Error);
}

// The driver streams probabilities band by band into ClassEvidence: any banding gives the
// labels of the whole-image call, in both seed modes; rows that do not fit are refused.
TEST(ClassEvidence, BandsGiveTheWholeImageResult) {
  const cv::Mat truth = nucseg::test::touching_discs(120, 150, 20, 6.0, 12.0, 5);
  const auto probs = soft_probs(class_map_from_labels(truth, 2), 0.7f);
  for (const SegmentParams& params : {interior_mode(), distance_mode()}) {
    const cv::Mat whole = instances_from_probabilities(probs, params);
    ASSERT_GT(count_labels(whole), 5);
    ClassEvidence evidence(truth.size(), params);
    EXPECT_EQ(evidence.border.empty(), params.seeds == SeedMode::distance);  // only interior mode reads it
    for (int y0 : {0, 37, 38, 90}) {
      const int y1 = y0 == 0 ? 37 : y0 == 37 ? 38 : y0 == 38 ? 90 : truth.rows;  // bands of 37, 1, 52, 30 rows
      std::vector<cv::Mat> rows;
      for (const auto& p : probs) rows.push_back(p.rowRange(y0, y1));
      evidence.add_rows(y0, rows);
    }
    const cv::Mat banded = instances_from_evidence(evidence);
    EXPECT_EQ(cv::countNonZero(banded != whole), 0) << (params.seeds == SeedMode::interior ? "interior" : "distance");
    std::vector<cv::Mat> past_end;
    for (const auto& p : probs) past_end.push_back(p.rowRange(100, 120));
    EXPECT_THROW(evidence.add_rows(101, past_end), nucseg::Error);
    EXPECT_THROW(evidence.add_rows(0, {probs[0], probs[1]}), nucseg::Error);
  }
}

namespace {

// A distance-head map: each disc (cy, cx, r) falls from 1 at its centre to 0 at radius r; where
// discs overlap the larger value wins (touching nuclei meet in a valley).
cv::Mat cone_map(cv::Size size, const std::vector<cv::Vec3f>& discs) {
  cv::Mat map(size, CV_32FC1, cv::Scalar(0));
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x)
      for (const auto& d : discs) {
        const float r = std::hypot(static_cast<float>(y) - d[0], static_cast<float>(x) - d[1]);
        map.at<float>(y, x) = std::max(map.at<float>(y, x), std::max(0.0f, 1.0f - r / d[2]));
      }
  return map;
}

SegmentParams with_seeds(SeedMode mode) {
  SegmentParams p;
  p.seeds = mode;
  return p;
}

}  // namespace

// The distance head's map decides the split, not the shape: two peaks give two nuclei where the
// class map has no border band at all; one peak gives one nucleus where distance seeding (the
// shape) gives two.
TEST(PredictedSeeds, TheDistanceOutputDecidesTheSplit) {
  cv::Mat truth = cv::Mat::zeros(48, 64, CV_32SC1);
  nucseg::test::paint_disc(truth, 24, 22, 11, 1);
  nucseg::test::paint_disc(truth, 24, 40, 11, 2);
  const auto probs = soft_probs(cv::Mat(truth != 0) / 255, 0.9f);  // interior everywhere, no border
  const cv::Mat two_peaks = cone_map(truth.size(), {{24, 22, 11}, {24, 40, 11}});
  const cv::Mat one_peak = cone_map(truth.size(), {{24, 31, 20}});

  auto with_map = [&](const cv::Mat& map) {
    auto maps = probs;
    maps.push_back(map);
    return maps;
  };
  const cv::Mat split = instances_from_probabilities(with_map(two_peaks), with_seeds(SeedMode::predicted));
  EXPECT_EQ(count_labels(split), 2);
  EXPECT_GT(score_image(truth, split).score, 0.8);
  EXPECT_EQ(count_labels(instances_from_probabilities(with_map(one_peak), with_seeds(SeedMode::predicted))), 1);
  EXPECT_EQ(count_labels(instances_from_probabilities(probs, with_seeds(SeedMode::distance))), 2);
  EXPECT_EQ(count_labels(instances_from_probabilities(with_map(one_peak), with_seeds(SeedMode::distance))), 2)
      << "distance seeding ignores the distance output";
  // A seed level above both peaks' saddle but below the peaks keeps them apart; one above the
  // peaks leaves no seed, and the foreground becomes one object of its own.
  SegmentParams high = with_seeds(SeedMode::predicted);
  high.center_threshold = 0.8;
  EXPECT_EQ(count_labels(instances_from_probabilities(with_map(two_peaks), high)), 2);
  high.center_threshold = 0.95;
  EXPECT_EQ(count_labels(instances_from_probabilities(with_map(two_peaks * 0.9), high)), 1);
}

TEST(PredictedSeeds, NeedsTheDistanceOutputAndTheSameMapsInEveryBand) {
  cv::Mat truth = cv::Mat::zeros(40, 40, CV_32SC1);
  nucseg::test::paint_disc(truth, 20, 20, 10, 1);
  const auto probs = soft_probs(class_map_from_labels(truth, 2), 0.8f);
  EXPECT_THROW(instances_from_probabilities(probs, with_seeds(SeedMode::predicted)), nucseg::Error);
  SegmentParams bad = with_seeds(SeedMode::predicted);
  bad.center_threshold = 1.0;
  auto maps = probs;
  maps.push_back(cone_map(truth.size(), {{20, 20, 10}}));
  EXPECT_THROW(instances_from_probabilities(maps, bad), nucseg::Error);
  EXPECT_EQ(seed_mode_from_string("predicted"), SeedMode::predicted);
  EXPECT_THROW(seed_mode_from_string("peaks"), nucseg::Error);

  ClassEvidence evidence(truth.size(), with_seeds(SeedMode::predicted));
  std::vector<cv::Mat> top, bottom;
  for (const auto& m : maps) top.push_back(m.rowRange(0, 20));
  for (size_t k = 0; k < 3; ++k) bottom.push_back(maps[k].rowRange(20, 40));
  evidence.add_rows(0, top);
  EXPECT_THROW(evidence.add_rows(20, bottom), nucseg::Error);  // the distance output went missing
  bottom.push_back(maps[3].rowRange(20, 40));
  evidence.add_rows(20, bottom);
  EXPECT_EQ(count_labels(instances_from_evidence(evidence)), 1);
  EXPECT_FALSE(evidence.distance.empty());
  // Another seeding does not keep the distance output (it is never read there).
  ClassEvidence unused(truth.size(), with_seeds(SeedMode::distance));
  unused.add_rows(0, maps);
  EXPECT_TRUE(unused.distance.empty());
  EXPECT_EQ(count_labels(instances_from_evidence(unused)), 1);
}

namespace {

// A flow head's two maps, (1 + dy) / 2 and (1 + dx) / 2: each pixel of `labels` points (unit
// length) at the centre of disc labels[pixel] - 1 of `centres` (cy, cx); 0.5 (no flow) elsewhere.
std::vector<cv::Mat> flow_maps(const cv::Mat& labels, const std::vector<cv::Point2f>& centres) {
  std::vector<cv::Mat> maps(2, cv::Mat(labels.size(), CV_32FC1, cv::Scalar(0.5f)));
  maps[0] = maps[0].clone();
  maps[1] = maps[1].clone();
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const int id = labels.at<int32_t>(y, x);
      if (id <= 0) continue;
      const cv::Point2f c = centres[static_cast<size_t>(id - 1)];
      const float dy = c.y - static_cast<float>(y), dx = c.x - static_cast<float>(x);
      const float n = std::hypot(dy, dx);
      if (n == 0.0f) continue;
      maps[0].at<float>(y, x) = 0.5f * (1.0f + dy / n);
      maps[1].at<float>(y, x) = 0.5f * (1.0f + dx / n);
    }
  return maps;
}

}  // namespace

// Following the flow separates three overlapping discs that form one blob without any border
// band; one flow field over the same blob gives one nucleus. A distance output before the flow (6 maps) changes nothing.
TEST(FlowSeeds, PathsThatEndTogetherAreOneNucleus) {
  cv::Mat truth = cv::Mat::zeros(64, 80, CV_32SC1);
  const std::vector<cv::Point2f> centres = {{24, 24}, {40, 26}, {33, 42}};  // (x, y)
  nucseg::test::paint_disc(truth, 24, 24, 12, 1);
  nucseg::test::paint_disc(truth, 26, 40, 12, 2);
  nucseg::test::paint_disc(truth, 42, 33, 12, 3);
  const auto probs = soft_probs(cv::Mat(truth != 0) / 255, 0.9f);  // interior everywhere, no border
  auto with_flow = [&](const std::vector<cv::Mat>& flow) {
    auto maps = probs;
    maps.insert(maps.end(), flow.begin(), flow.end());
    return maps;
  };
  const cv::Mat split = instances_from_probabilities(with_flow(flow_maps(truth, centres)), with_seeds(SeedMode::flows));
  EXPECT_EQ(count_labels(split), 3);
  EXPECT_GT(score_image(truth, split).score, 0.8);
  // One centre for the whole blob: one nucleus.
  const cv::Mat one_id = cv::Mat(truth != 0) / 255;
  cv::Mat blob;
  one_id.convertTo(blob, CV_32S);
  const cv::Mat merged =
      instances_from_probabilities(with_flow(flow_maps(blob, {{32, 33}})), with_seeds(SeedMode::flows));
  EXPECT_EQ(count_labels(merged), 1);
  // The distance output first, then the flow: the same split.
  auto six = probs;
  six.push_back(cv::Mat(truth.size(), CV_32FC1, cv::Scalar(0.5f)));
  for (const auto& m : flow_maps(truth, centres)) six.push_back(m);
  EXPECT_EQ(cv::countNonZero(instances_from_probabilities(six, with_seeds(SeedMode::flows)) != split), 0);
}

TEST(FlowSeeds, NeedsTheFlowOutputs) {
  cv::Mat truth = cv::Mat::zeros(40, 40, CV_32SC1);
  nucseg::test::paint_disc(truth, 20, 20, 10, 1);
  auto maps = soft_probs(class_map_from_labels(truth, 2), 0.8f);
  EXPECT_THROW(instances_from_probabilities(maps, with_seeds(SeedMode::flows)), nucseg::Error);
  maps.push_back(cv::Mat(truth.size(), CV_32FC1, cv::Scalar(0.5f)));  // a distance output only
  EXPECT_THROW(instances_from_probabilities(maps, with_seeds(SeedMode::flows)), nucseg::Error);
  EXPECT_EQ(seed_mode_from_string("flows"), SeedMode::flows);
  // Five maps are the classes and a flow: no distance output for predicted seeding, and
  // another seeding does not keep the flow (it is never read there).
  maps.push_back(cv::Mat(truth.size(), CV_32FC1, cv::Scalar(0.5f)));
  EXPECT_THROW(instances_from_probabilities(maps, with_seeds(SeedMode::predicted)), nucseg::Error);
  ClassEvidence other(truth.size(), with_seeds(SeedMode::distance));
  other.add_rows(0, maps);
  EXPECT_TRUE(other.flow_y.empty() && other.flow_x.empty() && other.distance.empty());
  ClassEvidence flows(truth.size(), with_seeds(SeedMode::flows));
  flows.add_rows(0, maps);
  EXPECT_FALSE(flows.flow_y.empty() || flows.flow_x.empty());
  EXPECT_TRUE(flows.distance.empty());
  // Asked to keep it (infer's "auto"), distance seeding keeps the flow too, as 8-bit planes:
  // an output of 0.8 (a component of 0.6) as 204, one of 0.5 (0) as 128.
  maps[4].setTo(0.8f);
  ClassEvidence kept(truth.size(), with_seeds(SeedMode::distance));
  kept.keep_flow = true;
  kept.add_rows(0, maps);
  ASSERT_FALSE(kept.flow_y.empty() || kept.flow_x.empty());
  EXPECT_EQ(kept.flow_y.at<uint8_t>(5, 5), 128);
  EXPECT_EQ(kept.flow_x.at<uint8_t>(5, 5), 204);
}
