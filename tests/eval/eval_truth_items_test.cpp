// evaluate_prediction_file, item by item: a truth image whose files cannot be read is left out
// of the score and named (the others are scored), and each truth image is looked up under the
// id nucseg_infer gives it even where that id carries a collision suffix.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "../dist/single_rank_world.hpp"
#include "run_fixture.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/eval/run.hpp"

namespace stdfs = std::filesystem;
using nucseg::testing::fresh_dir;
using nucseg::testing::touching_labels;
using nucseg::testing::write_png;
using nucseg::testing::write_predictions;

namespace {

const cv::Mat kImage(40, 60, CV_8UC3, cv::Scalar(5, 5, 5));

// A Kaggle item <root>/<id>: its image and one mask per nucleus of touching_labels().
void write_kaggle_item(const stdfs::path& root, const std::string& id) {
  write_png(root / id / "images" / (id + ".png"), kImage);
  const cv::Mat truth = touching_labels();
  for (int k = 1; k <= 3; ++k) write_png(root / id / "masks" / ("m" + std::to_string(k) + ".png"), truth == k);
}

// nucseg_infer's id of each input, by its path relative to `input`.
std::map<std::string, std::string> infer_ids_by_relative(const stdfs::path& input) {
  std::map<std::string, std::string> ids;
  for (const auto& item : nucseg::infer::discover_inputs(input.string()).items) ids[item.relative] = item.id;
  return ids;
}

// touching_labels() as one object, as its binary mask reads (8-connected components).
cv::Mat one_object() {
  cv::Mat labels = touching_labels();
  labels.setTo(1, labels > 0);
  return labels;
}

std::vector<std::string> values(const std::map<std::string, std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& [relative, id] : ids) out.push_back(id);
  return out;
}

}  // namespace

// Hostile sweep P6: a mask cut short, an empty mask and a mask of another size than its image
// each leave their item out (named, with the file and why), not the whole evaluation; exit 3.
TEST(EvalTruthItems, UnreadableTruthFilesAreNotScoredAndTheRestIs) {
  const auto root = fresh_dir("eval_truth_damaged");
  for (const char* id : {"a", "b", "c", "d"}) write_kaggle_item(root, id);
  const auto cut = root / "b" / "masks" / "m2.png";
  const auto bytes = nucseg::fs::read_file(cut);
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 20);
  std::ofstream(root / "c" / "masks" / "m1.png", std::ios::trunc);  // zero bytes
  write_png(root / "d" / "masks" / "m3.png", cv::Mat(20, 20, CV_8UC1, cv::Scalar(255)));
  write_predictions(root / "seg.h5", {"a", "b", "c", "d"}, touching_labels());

  const auto run = nucseg::eval::evaluate_prediction_file(root, root / "seg.h5", 1);
  ASSERT_EQ(run.result.images.size(), 1u);
  EXPECT_EQ(run.result.images[0].first, "a");
  EXPECT_DOUBLE_EQ(run.result.dataset.score, 1.0);
  EXPECT_TRUE(run.missing.empty());
  EXPECT_TRUE(run.ignored.empty());  // the predictions of b, c, d have truth, though unread
  ASSERT_EQ(run.not_scored.size(), 3u);
  const std::vector<std::pair<stdfs::path, std::string>> expected = {
      {cut, "truncated PNG"}, {root / "c" / "masks" / "m1.png", "zero-byte"}, {root / "d" / "masks" / "m3.png", "mask size"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(run.not_scored[i].id, std::string(1, static_cast<char>('b' + i)));
    EXPECT_EQ(run.not_scored[i].path, expected[i].first.string());
    EXPECT_NE(run.not_scored[i].reason.find(expected[i].second), std::string::npos) << run.not_scored[i].reason;
  }

  nucseg::Config config;
  config.eval.truth = root.string();
  config.eval.pred = (root / "seg.h5").string();
  config.eval.output = (root / "eval.json").string();
  EXPECT_EQ(nucseg::eval::run_eval(config, nucseg::testing::single_rank_world()), nucseg::exit_codes::partial);
  EXPECT_NE(nucseg::fs::read_file(root / "eval.json").find("truncated PNG"), std::string::npos);
  stdfs::remove_all(root);
}

// When not one truth image can be read there is nothing to score: an error naming a file and
// why, not a report of nothing.
TEST(EvalTruthItems, NoReadableTruthImageIsAnError) {
  const auto root = fresh_dir("eval_truth_none_read");
  write_kaggle_item(root, "a");
  std::ofstream(root / "a" / "masks" / "m1.png", std::ios::trunc);
  write_predictions(root / "seg.h5", {"a"}, touching_labels());
  try {
    nucseg::eval::evaluate_prediction_file(root, root / "seg.h5", 1);
    ADD_FAILURE() << "scored a truth folder of which nothing could be read";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("none of the 1 truth image(s) could be read"), std::string::npos) << msg;
    EXPECT_NE(msg.find((root / "a" / "masks" / "m1.png").string()), std::string::npos) << msg;
  }
  stdfs::remove_all(root);
}

// Hostile sweep P5: infer gives images whose names collide (a.png beside a.tif in a Kaggle
// item, a stray c.png beside item c, folders differing in case) a hash suffix; eval looks each
// truth image up under that id, not the plain one. Files infer segments that are not truth
// images (the second image of an item, the stray one) are the only predictions ignored.
TEST(EvalTruthItems, KaggleIdsWithCollisionSuffixesMatchInfer) {
  const auto root = fresh_dir("eval_ids_kaggle");
  for (const char* id : {"a", "abc", "ABC", "img 01", "c"}) write_kaggle_item(root, id);
  write_png(root / "a" / "images" / "a.tif", kImage);
  write_png(root / "c.png", kImage);
  write_png(root / ".hidden" / "a.png", kImage);  // neither walk lists it
  const auto ids = infer_ids_by_relative(root);
  ASSERT_EQ(ids.size(), 7u);
  ASSERT_NE(ids.at("a/images/a.png"), "a");  // the collision these ids are about
  ASSERT_NE(ids.at("c/images/c.png"), "c");
  write_predictions(root / "seg.h5", values(ids), touching_labels());

  const auto run = nucseg::eval::evaluate_prediction_file(root, root / "seg.h5", 1);
  EXPECT_TRUE(run.missing.empty());
  EXPECT_TRUE(run.not_scored.empty());
  EXPECT_EQ(std::set<std::string>(run.ignored.begin(), run.ignored.end()),
            (std::set<std::string>{ids.at("a/images/a.tif"), ids.at("c.png")}));
  EXPECT_EQ(run.result.images.size(), 5u);
  EXPECT_DOUBLE_EQ(run.result.dataset.score, 1.0);
  stdfs::remove_all(root);
}

// The flat layout: images/a.png and images/a.tif share the mask masks/a.png. a.png is scored
// under infer's suffixed id; a.tif, which the listing cannot pair (two images, one stem), is
// not scored and named under its own infer id, so its prediction is not "without truth".
TEST(EvalTruthItems, FlatIdsWithCollisionSuffixesMatchInfer) {
  const auto root = fresh_dir("eval_ids_flat");
  for (const char* name : {"a.png", "a.tif", "b.png"}) write_png(root / "images" / name, kImage);
  for (const char* name : {"a.png", "b.png"}) write_png(root / "masks" / name, touching_labels() > 0);
  const auto ids = infer_ids_by_relative(root);
  ASSERT_EQ(ids.size(), 3u);
  write_predictions(root / "seg.h5", values(ids), one_object());

  const auto run = nucseg::eval::evaluate_prediction_file(root, root / "seg.h5", 1);
  EXPECT_TRUE(run.missing.empty());
  EXPECT_TRUE(run.ignored.empty());
  ASSERT_EQ(run.not_scored.size(), 1u);
  EXPECT_EQ(run.not_scored[0].id, ids.at("a.tif"));
  EXPECT_EQ(run.result.images.size(), 2u);
  EXPECT_DOUBLE_EQ(run.result.dataset.score, 1.0);
  stdfs::remove_all(root);
}
