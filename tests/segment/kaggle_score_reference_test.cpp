// Cross-check of score_image against tools/kaggle_score_reference.py, an independent numpy
// implementation written from the competition's definition, on random label pairs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include <opencv2/imgproc.hpp>

#include "../segment/test_util.hpp"
#include "nucseg/segment/kaggle_score.hpp"

namespace {

namespace fs = std::filesystem;

// A prediction derived from the truth the way real errors look: shifted, eroded or dilated
// objects, dropped ones, splits, merges and spurious blobs.
cv::Mat perturb(const cv::Mat& truth, std::mt19937& rng) {
  cv::Mat pred = cv::Mat::zeros(truth.size(), CV_32SC1);
  double hi = 0;
  cv::minMaxLoc(truth, nullptr, &hi);
  int next = 1;
  for (int l = 1; l <= static_cast<int>(hi); ++l) {
    cv::Mat m = truth == l;
    const int kind = static_cast<int>(rng() % 6);
    if (kind == 0) continue;  // dropped
    if (kind == 1) {
      cv::Mat shifted;
      const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, static_cast<int>(rng() % 5) - 2, 0, 1, static_cast<int>(rng() % 5) - 2);
      cv::warpAffine(m, shifted, shift, m.size(), cv::INTER_NEAREST);
      m = shifted;
    } else if (kind == 2) {
      cv::dilate(m, m, cv::Mat());
    } else if (kind == 3) {
      cv::erode(m, m, cv::Mat());
    }
    if (kind == 4) {  // split along a column
      cv::Rect bb = cv::boundingRect(m);
      cv::Mat left = m.clone();
      left(cv::Rect(bb.x + bb.width / 2, 0, truth.cols - bb.x - bb.width / 2, truth.rows)).setTo(0);
      pred.setTo(next++, left);
      pred.setTo(next++, m & ~left);
      continue;
    }
    pred.setTo(next++, m);
  }
  // Spurious blobs; relabel some pixels of one prediction into another (merges).
  for (int k = static_cast<int>(rng() % 3); k > 0; --k)
    cv::circle(pred, cv::Point(static_cast<int>(rng() % 64), static_cast<int>(rng() % 64)), 2 + static_cast<int>(rng() % 3),
               cv::Scalar(next++), cv::FILLED);
  if (next > 3 && rng() % 2) pred.setTo(1, pred == 2);
  return pred;
}

}  // namespace

TEST(KaggleReference, MatchesIndependentPythonImplementation) {
  const fs::path dir = fs::temp_directory_path() / ("nucseg_kaggle_ref_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::mt19937 rng(7);
  std::vector<std::pair<cv::Mat, cv::Mat>> pairs;
  for (int i = 0; i < 40; ++i) {
    cv::Mat truth = nucseg::test::touching_discs(64, 64, static_cast<int>(rng() % 9), 3.0, 9.0, rng());
    cv::Mat pred = i % 10 == 9 ? cv::Mat::zeros(64, 64, CV_32SC1) : perturb(truth, rng);
    pairs.push_back({truth, pred});
  }
  // Exact IoU ties: 0.5 and 0.55.
  cv::Mat t = cv::Mat::zeros(16, 16, CV_32SC1), p = t.clone();
  t(cv::Rect(0, 0, 5, 4)).setTo(1);
  p(cv::Rect(0, 0, 5, 2)).setTo(1);
  pairs.push_back({t.clone(), p.clone()});
  p(cv::Rect(0, 2, 1, 1)).setTo(1);
  pairs.push_back({t, p});
  for (size_t i = 0; i < pairs.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "p%03zu", i);
    nucseg::test::write_npy((dir / (std::string(name) + ".truth.npy")).string(), pairs[i].first);
    nucseg::test::write_npy((dir / (std::string(name) + ".pred.npy")).string(), pairs[i].second);
  }
  const std::string out = nucseg::test::run_command(nucseg::test::python3() + " " + nucseg::test::source_dir() +
                                                    "/tools/kaggle_score_reference.py " + dir.string());
  std::istringstream lines(out);
  std::string line;
  size_t checked = 0;
  double score_sum = 0;
  int causes_seen = 0, split_seen = 0;  // pairs with merges, with splits
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string name;
    double score = 0, acc = 0, iou = 0, dice = 0;
    int n_true = 0, n_pred = 0;
    std::array<int, 30> counts{};
    f >> name >> score >> n_true >> n_pred;
    for (auto& c : counts) f >> c;
    f >> acc >> iou >> dice;
    std::array<int, 4> causes{};
    for (auto& c : causes) f >> c;
    ASSERT_TRUE(f) << "unparsable line: " << line;
    const size_t i = static_cast<size_t>(std::stoi(name.substr(1)));
    ASSERT_LT(i, pairs.size());
    const auto s = nucseg::segment::score_image(pairs[i].first, pairs[i].second);
    EXPECT_NEAR(s.score, score, 1e-9) << name;
    EXPECT_EQ(s.n_true, n_true) << name;
    EXPECT_EQ(s.n_pred, n_pred) << name;
    for (size_t k = 0; k < 10; ++k) {
      EXPECT_EQ(s.tp[k], counts[k]) << name << " threshold " << k;
      EXPECT_EQ(s.fp[k], counts[10 + k]) << name << " threshold " << k;
      EXPECT_EQ(s.fn[k], counts[20 + k]) << name << " threshold " << k;
    }
    EXPECT_NEAR(s.pixel_accuracy, acc, 1e-9) << name;
    EXPECT_NEAR(s.fg_iou, iou, 1e-9) << name;
    EXPECT_NEAR(s.fg_dice, dice, 1e-9) << name;
    EXPECT_EQ(s.fn50_causes.merged, causes[0]) << name;
    EXPECT_EQ(s.fn50_causes.split, causes[1]) << name;
    EXPECT_EQ(s.fn50_causes.missed, causes[2]) << name;
    EXPECT_EQ(s.fn50_causes.outline, causes[3]) << name;
    causes_seen += causes[0] > 0, split_seen += causes[1] > 0;
    score_sum += score;
    ++checked;
  }
  EXPECT_EQ(checked, pairs.size()) << out;
  // The random pairs must exercise partial scores, not only 0 and 1.
  EXPECT_GT(score_sum / static_cast<double>(checked), 0.1);
  // ... and both kinds of splitting error.
  EXPECT_GT(causes_seen, 0);
  EXPECT_GT(split_seen, 0);
  EXPECT_LT(score_sum / static_cast<double>(checked), 0.9);
  fs::remove_all(dir);
}
