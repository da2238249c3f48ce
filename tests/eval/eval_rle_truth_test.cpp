// nucseg_eval with a Kaggle DSB 2018 run-length CSV as truth: the stage1_train_labels.csv
// layout (sizes from the predictions) and the stage 1 solution layout (sizes and Usage from the
// file); and labels -> submission.csv (nucseg_infer's writer) -> truth -> the same labels.
#include <gtest/gtest.h>

#include <fstream>

#include "../infer/segmentation_fixture.hpp"
#include "../infer/test_util.hpp"
#include "../segment/test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/eval/run.hpp"
#include "nucseg/infer/submission.hpp"
#include "nucseg/segment/kaggle_rle.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::testing::write_segmentation;
using nucseg::testing::ScratchDir;

// Rows "<id>,<rle>[,<suffix>]" for every object of `labels`.
std::string rows(const std::string& id, const cv::Mat& labels, const std::string& suffix = "") {
  std::string out;
  for (const auto& [label, rle] : nucseg::segment::encode_rle(labels)) out += id + "," + rle + suffix + "\n";
  return out;
}

cv::Mat without_label(cv::Mat labels, int32_t label) {
  labels = labels.clone();
  labels.setTo(0, labels == label);
  return labels;
}

const nucseg::eval::ImageScore& score_of(const nucseg::eval::EvalRun& run, const std::string& id) {
  for (const auto& [name, score] : run.result.images)
    if (name == id) return score;
  throw std::runtime_error("no score for " + id);
}

TEST(EvalRleTruth, TrainLabelsLayoutTakesSizesFromThePredictions) {
  ScratchDir dir("eval-rle-train");
  const cv::Mat a = nucseg::test::touching_discs(50, 70, 12, 3, 8, 1), b = nucseg::test::touching_discs(40, 64, 8, 3, 8, 2);
  const cv::Mat b_pred = without_label(b, 2);
  write_segmentation(dir.path() / "seg.h5", {{"a", a}, {"b", b_pred}, {"extra", a}});
  std::ofstream(dir.path() / "stage1_train_labels.csv")
      << "ImageId,EncodedPixels\n" << rows("a", a) << rows("b", b) << rows("lost", a);

  const auto run = nucseg::eval::evaluate_prediction_file(dir.path() / "stage1_train_labels.csv", dir.path() / "seg.h5", 1);
  ASSERT_EQ(run.result.images.size(), 3u);
  EXPECT_DOUBLE_EQ(score_of(run, "a").score, 1.0);
  const auto expected_b = nucseg::segment::score_image(b, b_pred);  // one nucleus missed
  EXPECT_DOUBLE_EQ(score_of(run, "b").score, expected_b.score);
  EXPECT_LT(expected_b.score, 1.0);
  // No prediction and no recorded size: scored 0, its nuclei still counted.
  EXPECT_EQ(run.missing, std::vector<std::string>{"lost"});
  EXPECT_DOUBLE_EQ(score_of(run, "lost").score, 0.0);
  EXPECT_EQ(score_of(run, "lost").n_true, score_of(run, "a").n_true);
  EXPECT_EQ(run.ignored, std::vector<std::string>{"extra"});
}

TEST(EvalRleTruth, SolutionLayoutWithSizesUsageAndEmptyImages) {
  ScratchDir dir("eval-rle-solution");
  const cv::Mat a = nucseg::test::touching_discs(50, 70, 12, 3, 8, 5);
  const cv::Mat blank = cv::Mat::zeros(30, 40, CV_32SC1);
  write_segmentation(dir.path() / "seg.h5", {{"a", a}, {"blank", blank}, {"decoy", a}});
  std::ofstream(dir.path() / "stage1_solution.csv")
      << "ImageId,EncodedPixels,Height,Width,Usage\n" << rows("a", a, ",50,70,Public") << "blank,,30,40,Private\n"
      << rows("decoy", a, ",50,70,Ignored") << rows("unseen", a, ",50,70,Private");
  const auto run = nucseg::eval::evaluate_prediction_file(dir.path() / "stage1_solution.csv", dir.path() / "seg.h5", 1);
  ASSERT_EQ(run.result.images.size(), 3u);  // a, blank, unseen; the decoy is not scored
  EXPECT_DOUBLE_EQ(score_of(run, "a").score, 1.0);
  EXPECT_DOUBLE_EQ(score_of(run, "blank").score, 1.0);  // nothing true, nothing predicted
  EXPECT_EQ(score_of(run, "blank").n_true, 0);
  EXPECT_DOUBLE_EQ(score_of(run, "unseen").score, 0.0);
  EXPECT_TRUE(run.ignored.empty());

  // The file's size is the truth's: a prediction of another size is an error naming the image.
  std::ofstream(dir.path() / "wrong_size.csv") << "ImageId,EncodedPixels,Height,Width\n" << rows("a", a, ",51,70");
  EXPECT_THROW(nucseg::eval::evaluate_prediction_file(dir.path() / "wrong_size.csv", dir.path() / "seg.h5", 1),
               nucseg::Error);
  // Overlapping masks are not a valid truth.
  std::ofstream(dir.path() / "overlap.csv") << "ImageId,EncodedPixels\na,1 10\na,5 3\n";
  EXPECT_THROW(nucseg::eval::evaluate_prediction_file(dir.path() / "overlap.csv", dir.path() / "seg.h5", 1),
               nucseg::Error);
}

TEST(EvalRleTruth, SubmissionReadBackAsTruthGivesTheSameLabels) {
  ScratchDir dir("eval-rle-roundtrip");
  std::vector<std::pair<std::string, cv::Mat>> images;
  for (uint32_t seed = 10; seed < 14; ++seed)
    images.emplace_back("img" + std::to_string(seed), nucseg::test::touching_discs(45 + static_cast<int>(seed), 60, 10, 2, 9, seed));
  images.emplace_back("none", cv::Mat::zeros(20, 20, CV_32SC1));
  write_segmentation(dir.path() / "segmentation.h5", images);
  nucseg::infer::write_submission(dir.path());
  const auto run = nucseg::eval::evaluate_prediction_file(dir.path() / "submission.csv", dir.path() / "segmentation.h5", 1);
  ASSERT_EQ(run.result.images.size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& score = score_of(run, images[i].first);
    EXPECT_DOUBLE_EQ(score.score, 1.0) << images[i].first;
    EXPECT_DOUBLE_EQ(score.pixel_accuracy, 1.0) << images[i].first;  // every pixel back where it was
  }
}

}  // namespace

// A few bytes of CSV can claim any size (found by fuzzing the reader): a 1,000,000 x 1,000,000
// image (4 TB of labels), a run to pixel 2^63 - 1 (signed overflow before). Both are data
// errors naming the file, before anything that size is allocated.
TEST(EvalRleTruth, HugeClaimedSizesAreRefused) {
  ScratchDir dir("eval-rle-huge");
  write_segmentation(dir.path() / "seg.h5", {{"a", nucseg::test::touching_discs(40, 64, 8, 3, 8, 2)}});
  std::ofstream(dir.path() / "sized.csv") << "ImageId,EncodedPixels,Height,Width\na,1 1,1000000,1000000\n";
  std::ofstream(dir.path() / "runs.csv") << "ImageId,EncodedPixels\na,1 9223372036854775807\n";
  for (const char* name : {"sized.csv", "runs.csv"}) {
    try {
      nucseg::eval::evaluate_prediction_file(dir.path() / name, dir.path() / "seg.h5", 1);
      ADD_FAILURE() << name << " was scored";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::data) << e.what();
    }
  }
}
