// Kaggle DSB 2018 score on hand-made label pairs with answers worked out by hand.
#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/kaggle_score.hpp"

using nucseg::segment::score_image;

namespace {

cv::Mat blank(int rows = 32, int cols = 32) { return cv::Mat::zeros(rows, cols, CV_32SC1); }
void box(cv::Mat& m, int r, int c, int h, int w, int label) { m(cv::Rect(c, r, w, h)).setTo(label); }

}  // namespace

TEST(KaggleScore, IdenticalIsOne) {
  cv::Mat t = blank();
  box(t, 2, 2, 5, 5, 1);
  box(t, 10, 10, 6, 4, 2);
  box(t, 20, 3, 3, 9, 7);  // labels need not be consecutive
  const auto s = score_image(t, t);
  EXPECT_DOUBLE_EQ(s.score, 1.0);
  EXPECT_EQ(s.n_true, 3);
  EXPECT_EQ(s.n_pred, 3);
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(s.tp[static_cast<size_t>(k)], 3);
    EXPECT_EQ(s.fp[static_cast<size_t>(k)], 0);
    EXPECT_EQ(s.fn[static_cast<size_t>(k)], 0);
  }
  EXPECT_DOUBLE_EQ(s.f1_50, 1.0);
  EXPECT_DOUBLE_EQ(s.fg_iou, 1.0);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 1.0);
}

TEST(KaggleScore, IouExactlyHalfIsNoMatch) {
  cv::Mat t = blank(), p = blank();
  box(t, 4, 4, 4, 4, 1);  // 16 pixels
  box(p, 4, 4, 4, 2, 1);  // 8 of them: IoU = 8 / 16 = 0.5 exactly
  const auto s = score_image(t, p);
  EXPECT_EQ(s.tp[0], 0);
  EXPECT_EQ(s.fp[0], 1);
  EXPECT_EQ(s.fn[0], 1);
  EXPECT_DOUBLE_EQ(s.score, 0.0);
  EXPECT_DOUBLE_EQ(s.ap50, 0.0);
}

TEST(KaggleScore, IouExactlyAtThresholdCountsBelowOnly) {
  cv::Mat t = blank(), p = blank();
  box(t, 0, 0, 4, 5, 1);  // 20 pixels
  box(p, 0, 0, 1, 5, 1);  // 11 of them: IoU = 11/20 = 0.55
  box(p, 1, 0, 2, 3, 1);
  const auto s = score_image(t, p);
  EXPECT_EQ(s.tp[0], 1);  // 0.55 > 0.50
  EXPECT_EQ(s.tp[1], 0);  // 0.55 is not > 0.55
  EXPECT_NEAR(s.score, 0.1, 1e-12);
}

TEST(KaggleScore, BothEmptyScoresOne) {
  const auto s = score_image(blank(), blank());
  EXPECT_DOUBLE_EQ(s.score, 1.0);
  EXPECT_EQ(s.n_true, 0);
  EXPECT_EQ(s.n_pred, 0);
  EXPECT_DOUBLE_EQ(s.precision50, 1.0);
  EXPECT_DOUBLE_EQ(s.recall50, 1.0);
  EXPECT_DOUBLE_EQ(s.fg_dice, 1.0);
}

TEST(KaggleScore, EmptyTruthWithPredictionsScoresZero) {
  cv::Mat p = blank();
  box(p, 1, 1, 3, 3, 1);
  box(p, 10, 10, 3, 3, 2);
  const auto s = score_image(blank(), p);
  EXPECT_DOUBLE_EQ(s.score, 0.0);
  EXPECT_EQ(s.fp[0], 2);
  EXPECT_EQ(s.fn[0], 0);
  EXPECT_DOUBLE_EQ(s.precision50, 0.0);
  EXPECT_DOUBLE_EQ(s.fg_iou, 0.0);
  const auto s2 = score_image(p, blank());  // nothing predicted
  EXPECT_DOUBLE_EQ(s2.score, 0.0);
  EXPECT_EQ(s2.fn[0], 2);
}

TEST(KaggleScore, OneMissedObject) {
  cv::Mat t = blank(), p = blank();
  box(t, 2, 2, 5, 5, 1);
  box(t, 15, 15, 5, 5, 2);
  box(p, 2, 2, 5, 5, 9);
  const auto s = score_image(t, p);
  EXPECT_DOUBLE_EQ(s.score, 0.5);  // 1 / (1 + 0 + 1) at every threshold
  EXPECT_DOUBLE_EQ(s.precision50, 1.0);
  EXPECT_DOUBLE_EQ(s.recall50, 0.5);
  EXPECT_NEAR(s.f1_50, 2.0 / 3.0, 1e-12);
}

TEST(KaggleScore, SplitObjectMatchesNothing) {
  cv::Mat t = blank(), p = blank();
  box(t, 0, 0, 10, 10, 1);
  box(p, 0, 0, 10, 5, 1);  // each half has IoU 0.5: no match
  box(p, 0, 5, 10, 5, 2);
  const auto s = score_image(t, p);
  EXPECT_DOUBLE_EQ(s.score, 0.0);
  EXPECT_EQ(s.fp[0], 2);
  EXPECT_EQ(s.fn[0], 1);
}

TEST(KaggleScore, MergedObjectsMatchTheDominantOne) {
  cv::Mat t = blank(), p = blank();
  box(t, 0, 0, 10, 8, 1);  // 80 px
  box(t, 0, 8, 10, 2, 2);  // 20 px
  box(p, 0, 0, 10, 10, 1); // IoU with object 1 = 0.8: match at 0.50 .. 0.75 (6 thresholds)
  const auto s = score_image(t, p);
  EXPECT_EQ(s.tp[5], 1);
  EXPECT_EQ(s.tp[6], 0);
  EXPECT_NEAR(s.score, 6 * 0.5 / 10, 1e-12);  // 1/(1+0+1) matched, 0/(0+1+2) otherwise
  EXPECT_DOUBLE_EQ(s.fg_iou, 1.0);
}

TEST(KaggleScore, PixelMetrics) {
  cv::Mat t = blank(10, 10), p = blank(10, 10);
  box(t, 0, 0, 4, 5, 1);  // 20 px
  box(p, 0, 2, 4, 5, 3);  // 20 px, 12 shared
  const auto s = score_image(t, p);
  EXPECT_NEAR(s.fg_iou, 12.0 / 28.0, 1e-12);
  EXPECT_NEAR(s.fg_dice, 24.0 / 40.0, 1e-12);
  EXPECT_NEAR(s.pixel_accuracy, (100.0 - 16.0) / 100.0, 1e-12);
}

TEST(KaggleScore, AcceptsSixteenBitLabels) {
  cv::Mat t = blank(), p = blank();
  box(t, 3, 3, 6, 6, 40000);
  box(p, 3, 3, 6, 5, 1);
  cv::Mat t16;
  t.convertTo(t16, CV_16U);
  const auto a = score_image(t16, p), b = score_image(t, p);
  EXPECT_DOUBLE_EQ(a.score, b.score);
  EXPECT_GT(a.score, 0.5);
}

TEST(KaggleScore, RejectsMismatchedSizes) {
  EXPECT_THROW(score_image(blank(8, 8), blank(8, 9)), nucseg::Error);
  cv::Mat neg = blank();
  neg.at<int32_t>(0, 0) = -1;
  EXPECT_THROW(score_image(neg, blank()), nucseg::Error);
}

TEST(KaggleAggregate, MeansAndPooledCounts) {
  cv::Mat t = blank(), p = blank();
  box(t, 2, 2, 5, 5, 1);
  box(t, 15, 15, 5, 5, 2);
  box(p, 2, 2, 5, 5, 1);
  const auto a = score_image(t, t);  // 1.0, tp 2
  const auto b = score_image(t, p);  // 0.5, tp 1 fn 1
  const auto d = nucseg::segment::aggregate({a, b});
  EXPECT_EQ(d.n_images, 2);
  EXPECT_DOUBLE_EQ(d.score, 0.75);
  EXPECT_EQ(d.tp50, 3);
  EXPECT_EQ(d.fn50, 1);
  EXPECT_EQ(d.fp50, 0);
  EXPECT_DOUBLE_EQ(d.precision50, 1.0);
  EXPECT_DOUBLE_EQ(d.recall50, 0.75);
  EXPECT_DOUBLE_EQ(d.ap50, 0.75);
  EXPECT_DOUBLE_EQ(d.score_at[9], 0.75);
  const auto empty = nucseg::segment::aggregate({});
  EXPECT_EQ(empty.n_images, 0);
  EXPECT_DOUBLE_EQ(empty.score, 0.0);
}

// Each false negative at 0.5 gets exactly one cause, worked out by hand on one image:
// objects 1+2 merged into one prediction; 3 cut in two halves; 4 unseen; 5 inside a prediction
// four times its size; 6 found. The dataset pools the causes.
TEST(KaggleScore, FalseNegativesByCause) {
  cv::Mat t = blank(40, 40), p = blank(40, 40);
  box(t, 0, 0, 6, 5, 1);    // 30 px
  box(t, 0, 5, 6, 5, 2);    // 30 px, touching 1
  box(p, 0, 0, 6, 10, 11);  // covers all of 1 and 2: IoU 0.5 each, no match
  box(t, 10, 0, 6, 10, 3);  // 60 px
  box(p, 10, 0, 6, 5, 12);  // half of 3 each: together all of it, neither more than half
  box(p, 10, 5, 6, 5, 13);
  box(t, 20, 0, 5, 5, 4);   // nothing predicted there
  box(t, 30, 0, 4, 4, 5);   // 16 px inside a 64 px prediction: IoU 0.25
  box(p, 30, 0, 8, 8, 14);
  box(t, 20, 20, 8, 8, 6);  // found exactly
  box(p, 20, 20, 8, 8, 15);
  const auto s = score_image(t, p);
  EXPECT_EQ(s.fn[0], 5);
  EXPECT_EQ(s.fn50_causes.merged, 2);
  EXPECT_EQ(s.fn50_causes.split, 1);
  EXPECT_EQ(s.fn50_causes.missed, 1);
  EXPECT_EQ(s.fn50_causes.outline, 1);
  // A prediction over more than half of two objects merges both, even when most of it lies
  // on one; a prediction over all of one object and less than half of its neighbour matches
  // the first and leaves the neighbour missed.
  cv::Mat t2 = blank(), p2 = blank();
  box(t2, 0, 0, 4, 4, 1);   // 16 px
  box(t2, 0, 4, 4, 8, 2);   // 32 px
  box(p2, 0, 0, 4, 10, 7);  // all of 1, 24 of 2's 32 px: covers more than half of both: merge
  box(t2, 10, 0, 4, 4, 3);  // 16 px
  box(t2, 10, 4, 4, 8, 4);  // 32 px
  box(p2, 10, 0, 4, 7, 8);  // all of 3, 12 of 4's 32 px: IoU(3) = 16/28, a match; 4: 12 + 0 covered
  const auto s2 = score_image(t2, p2);
  EXPECT_EQ(s2.fn50_causes.merged, 2);
  EXPECT_EQ(s2.fn50_causes.missed, 1);  // object 4: 12 of 32 px under a prediction
  EXPECT_EQ(s2.fn[0], 3);
  const auto d = nucseg::segment::aggregate({s, s2});
  EXPECT_EQ(d.fn50_causes.merged, 4);
  EXPECT_EQ(d.fn50_causes.split, 1);
  EXPECT_EQ(d.fn50_causes.missed, 2);
  EXPECT_EQ(d.fn50_causes.outline, 1);
  EXPECT_EQ(d.fn50_causes.merged + d.fn50_causes.split + d.fn50_causes.missed + d.fn50_causes.outline, d.fn50);
}
