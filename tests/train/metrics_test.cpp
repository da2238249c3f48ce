// metrics.csv, the confusion matrix, the learning-rate schedule and preview pictures.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <unistd.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/train/lr_schedule.hpp"
#include "nucseg/train/metrics.hpp"
#include "nucseg/train/preview.hpp"
#include "nucseg/train/time_budget.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg::train;

namespace {
std::vector<std::string> lines_of(const stdfs::path& f) {
  std::istringstream in(nucseg::fs::read_file(f));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
EpochMetrics row(long epoch) {
  EpochMetrics m;
  m.epoch = epoch;
  m.step = epoch * 10;
  m.iou = {0.9, 0.5, 0.25};
  m.object_score = 0.125;
  return m;
}
}  // namespace

TEST(MetricsCsv, HeaderOnceAndRedoneEpochsNotDuplicated) {
  auto dir = stdfs::temp_directory_path() / ("nucseg_metrics_test_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  {
    MetricsCsv csv(dir / "metrics.csv", 3, 0);
    csv.append(row(1));
    csv.append(row(2));
    csv.append(row(3));
  }
  auto l = lines_of(dir / "metrics.csv");
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0],
            "epoch,step,images_per_s,train_loss,val_loss,pixel_accuracy,iou_background,iou_interior,iou_border,"
            "object_score,lr,wall_seconds");
  EXPECT_EQ(l[2].substr(0, 5), "2,20,");
  // A run resumed from the end of epoch 2 redoes epoch 3.
  {
    MetricsCsv csv(dir / "metrics.csv", 3, 2);
    csv.append(row(3));
  }
  l = lines_of(dir / "metrics.csv");
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[3].substr(0, 5), "3,30,");
  EXPECT_THROW(MetricsCsv(dir / "metrics.csv", 4, 3), nucseg::Error);  // other columns
  stdfs::remove_all(dir);
}

TEST(ConfusionMatrix, AccuracyAndIouFromCounts) {
  ConfusionMatrix cm(3);
  std::vector<int64_t> truth = {0, 0, 0, 1, 1, 2}, pred = {0, 0, 1, 1, 2, 2};
  cm.add(truth.data(), pred.data(), truth.size());
  EXPECT_DOUBLE_EQ(cm.pixel_accuracy(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(cm.iou(0), 2.0 / 3.0);  // tp 2, fn 1
  EXPECT_DOUBLE_EQ(cm.iou(1), 1.0 / 3.0);  // tp 1, fp 1, fn 1
  EXPECT_DOUBLE_EQ(cm.iou(2), 1.0 / 2.0);  // tp 1, fp 1
  ConfusionMatrix other(3);
  other.add_counts(cm.counts());  // what the sum over ranks does
  other.add_counts(cm.counts());
  EXPECT_DOUBLE_EQ(other.total(), 12.0);
  EXPECT_DOUBLE_EQ(other.iou(1), cm.iou(1));
  std::vector<int64_t> bad = {3};
  EXPECT_THROW(cm.add(bad.data(), bad.data(), 1), nucseg::Error);
  EXPECT_TRUE(std::isnan(ConfusionMatrix(3).iou(2)));
}

TEST(LrSchedule, WarmupConstantCosineStepAndRankScaling) {
  LrSchedule s;
  s.base_lr = 1.0;
  s.total_steps = 110;
  s.steps_per_epoch = 10;
  s.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(s, 4), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1000), 1.0);
  s.kind = "cosine";
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 1.0);
  EXPECT_NEAR(learning_rate(s, 60), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate(s, 110), 0.0, 1e-12);
  EXPECT_NEAR(learning_rate(s, 500), 0.0, 1e-12);
  EXPECT_GT(learning_rate(s, 30), learning_rate(s, 31));
  s.kind = "step";
  s.warmup_steps = 0;
  s.step_epochs = 2;
  s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(s, 19), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 20), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(s, 45), 0.25);
  s.kind = "constant";
  s.ranks = 4;
  EXPECT_DOUBLE_EQ(learning_rate(s, 3), 1.0);
  s.scale_with_ranks = true;
  EXPECT_DOUBLE_EQ(learning_rate(s, 3), 4.0);
  s.kind = "linear";
  EXPECT_THROW(learning_rate(s, 3), nucseg::Error);
}

TEST(LrSchedule, FromConfig) {
  nucseg::TrainConfig t;
  t.lr = 0.01;
  t.lr_schedule = "cosine";
  t.warmup_steps = 5;
  auto s = LrSchedule::from(t, 7, 70, 2);
  EXPECT_EQ(s.total_steps, 70);
  EXPECT_EQ(s.steps_per_epoch, 7);
  EXPECT_DOUBLE_EQ(learning_rate(s, 4), 0.01);
}

// With train.time_limit the cosine follows the larger of the step and the budget fractions.
TEST(LrSchedule, CosineFollowsTheTimeBudget) {
  LrSchedule s;
  s.base_lr = 1.0;
  s.kind = "cosine";
  s.total_steps = 10000;  // epochs far beyond what the budget allows
  EXPECT_NEAR(learning_rate(s, 100, 0.5), 0.5, 1e-12);   // half the budget: half the rate
  EXPECT_NEAR(learning_rate(s, 100, 1.0), 0.0, 1e-12);   // budget spent: 0
  EXPECT_NEAR(learning_rate(s, 5000, 0.1), 0.5, 1e-12);  // the step fraction when it is larger
  EXPECT_NEAR(learning_rate(s, 100, 0.0), learning_rate(s, 100), 1e-15);
  s.kind = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(s, 100, 0.9), 1.0);  // only the cosine follows the budget
}

TEST(TimeBudget, StopsWhenTheNextStepAndTheReserveDoNotFit) {
  TimeBudget none(0, 0);
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(none.stop_before_next_step(1e9, 1e9, 1e9));
  EXPECT_EQ(none.fraction(100), 0.0);
  TimeBudget b(600, 100);  // 10 minutes, 100 s used by an earlier invocation
  EXPECT_TRUE(b.enabled());
  EXPECT_DOUBLE_EQ(b.used(50), 150.0);
  EXPECT_DOUBLE_EQ(b.fraction(200), 0.5);
  EXPECT_DOUBLE_EQ(b.fraction(5000), 1.0);
  EXPECT_DOUBLE_EQ(b.fraction(200, 100), 0.6);  // 300 of the 500 s left for steps
  EXPECT_DOUBLE_EQ(b.fraction(200, 700), 1.0);  // no time left for steps at all
  EXPECT_FALSE(b.stop_before_next_step(400, 5, 20));  // 525 s
  EXPECT_TRUE(b.stop_before_next_step(480, 5, 20));   // 605 s
  EXPECT_TRUE(b.stop_before_next_step(496, 5, 0));    // 601 s
  EXPECT_FALSE(b.stop_before_next_step(494, 5, 0));   // 599 s
}

TEST(Preview, RowsOfImageTruthPrediction) {
  auto dir = stdfs::temp_directory_path() / ("nucseg_preview_test_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  PreviewRow a;
  a.image = cv::Mat(40, 30, CV_32FC3, cv::Scalar(10 / 255.0, 20 / 255.0, 30 / 255.0));
  a.truth = cv::Mat::zeros(40, 30, CV_8UC1);
  a.truth(cv::Rect(0, 0, 10, 10)).setTo(1);
  a.predicted = cv::Mat(40, 30, CV_8UC1, cv::Scalar(2));
  PreviewRow b;
  b.image = cv::Mat(20, 20, CV_32FC3, cv::Scalar(1.7, 0, -0.2));  // normalised values beyond 0..1 clip
  b.truth = b.predicted = cv::Mat::zeros(20, 20, CV_8UC1);
  write_preview(dir / "previews" / "epoch-001.png", {a, b});
  cv::Mat png = cv::imread((dir / "previews" / "epoch-001.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png.rows, 60);
  EXPECT_EQ(png.cols, 90);
  EXPECT_EQ(png.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));          // BGR on disk: the image
  EXPECT_EQ(png.at<cv::Vec3b>(0, 30), cv::Vec3b(40, 200, 40));        // truth interior, green
  EXPECT_EQ(png.at<cv::Vec3b>(39, 59), cv::Vec3b(0, 0, 0));           // truth background
  EXPECT_EQ(png.at<cv::Vec3b>(0, 60), cv::Vec3b(30, 220, 250));       // predicted border
  EXPECT_EQ(png.at<cv::Vec3b>(45, 5), cv::Vec3b(0, 0, 255));          // red clipped at full scale
  EXPECT_EQ(png.at<cv::Vec3b>(45, 80), cv::Vec3b(0, 0, 0));           // padding right of short row
  for (auto& e : stdfs::directory_iterator(dir / "previews")) EXPECT_FALSE(nucseg::fs::is_temporary_name(e.path()));
  stdfs::remove_all(dir);
}
