// nucseg_eval's library below file reading: the JSON report, the table, threaded scoring.
#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/eval/evaluate.hpp"

using nucseg::segment::score_image;

namespace {

cv::Mat blank(int rows = 32, int cols = 32) { return cv::Mat::zeros(rows, cols, CV_32SC1); }
void box(cv::Mat& m, int r, int c, int h, int w, int label) { m(cv::Rect(c, r, w, h)).setTo(label); }

}  // namespace

TEST(EvalReport, JsonEscapesIdsAndHoldsEveryImage) {
  cv::Mat t = blank();
  box(t, 2, 2, 5, 5, 1);
  const auto s = score_image(t, t);
  const std::string json = nucseg::eval::to_json(nucseg::segment::aggregate({s, s}), {{"a\"b\\c\nd", s}, {"plain", s}});
  EXPECT_NE(json.find(R"("id": "a\"b\\c\nd")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("id": "plain")"), std::string::npos);
  EXPECT_NE(json.find(R"("score": 1,)"), std::string::npos);
  EXPECT_EQ(nucseg::eval::json_string(std::string("x\x01y")), "\"x\\u0001y\"");
}

TEST(EvalPairs, ThreadedMatchesSerialAndTableNamesImages) {
  std::vector<nucseg::eval::LabelPair> pairs;
  for (int i = 0; i < 7; ++i) {
    cv::Mat t = blank(), p = blank();
    box(t, 2, 2, 8, 8, 1);
    box(p, 2, 2 + i, 8, 8, 1);
    pairs.push_back({"img" + std::to_string(i), {t, p}});
  }
  const auto serial = nucseg::eval::evaluate_pairs(pairs, 1);
  const auto threaded = nucseg::eval::evaluate_pairs(pairs, 3);
  ASSERT_EQ(threaded.images.size(), pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(threaded.images[i].first, pairs[i].first);
    EXPECT_DOUBLE_EQ(threaded.images[i].second.score, serial.images[i].second.score);
  }
  EXPECT_DOUBLE_EQ(threaded.dataset.score, serial.dataset.score);
  EXPECT_DOUBLE_EQ(serial.images[0].second.score, 1.0);
  EXPECT_LT(serial.images[6].second.score, 0.5);
  const std::string table = nucseg::eval::format_table(serial);
  EXPECT_NE(table.find("img6"), std::string::npos);
  pairs.push_back({"bad", {blank(4, 4), blank(5, 4)}});
  try {
    nucseg::eval::evaluate_pairs(pairs, 2);
    FAIL() << "size mismatch accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos) << e.what();
  }
}
