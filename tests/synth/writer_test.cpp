#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/synth/writer.hpp"
#include "test_util.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg::synth;

namespace {

stdfs::path fresh_dir(const std::string& name) {
  auto dir = stdfs::temp_directory_path() / ("nucseg-synth-" + name + "-" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir;
}

SynthSample sample(int index) {
  nucseg::SynthConfig c;
  c.min_side = 80;
  c.max_side = 120;
  return generate_sample(c, index);
}

size_t count_files(const stdfs::path& dir) {
  size_t n = 0;
  for (auto& e : stdfs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST(SynthWriter, KaggleLayoutWithOneBinaryMaskPerNucleus) {
  auto root = fresh_dir("layout");
  SynthSample s = sample(2);
  write_kaggle_sample(root, s);
  const auto dir = root / s.id;
  cv::Mat image = cv::imread((dir / "images" / (s.id + ".png")).string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(image.type(), CV_8UC4);
  cv::Mat rgba;
  cv::cvtColor(image, rgba, cv::COLOR_BGRA2RGBA);
  EXPECT_EQ(cv::countNonZero(rgba.reshape(1) != s.rgba.reshape(1)), 0);

  const int n = synth_test::max_label(s.labels);
  ASSERT_GT(n, 0);
  EXPECT_EQ(count_files(dir / "masks"), static_cast<size_t>(n));
  cv::Mat covered(s.labels.size(), CV_8UC1, cv::Scalar(0));
  for (int k = 1; k <= n; ++k) {
    cv::Mat mask = cv::imread((dir / "masks" / (std::to_string(k) + ".png")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(mask.type(), CV_8UC1) << k;
    EXPECT_EQ(cv::countNonZero((mask != 0) & (mask != 255)), 0) << "mask " << k << " is not binary";
    EXPECT_EQ(cv::countNonZero(mask != (s.labels == k)), 0) << "mask " << k;
    EXPECT_EQ(cv::countNonZero(mask & covered), 0) << "mask " << k << " overlaps another";
    covered |= mask;
  }
  EXPECT_EQ(cv::countNonZero(covered != (s.labels > 0)), 0);
  EXPECT_TRUE(sample_complete(root, s.id));
  for (auto& e : stdfs::directory_iterator(root)) EXPECT_EQ(e.path().filename(), s.id) << "leftover " << e.path();
  stdfs::remove_all(root);
}

TEST(SynthWriter, RewritingReplacesTheFolderAndLeavesNoTemporaries) {
  auto root = fresh_dir("rewrite");
  SynthSample a = sample(1), b = sample(5);
  write_kaggle_sample(root, a);
  b.id = a.id;  // same id, other content (more or fewer masks)
  write_kaggle_sample(root, b);
  EXPECT_EQ(count_files(root / a.id / "masks"), static_cast<size_t>(synth_test::max_label(b.labels)));
  cv::Mat image = cv::imread((root / a.id / "images" / (a.id + ".png")).string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(image.size(), b.rgba.size());
  std::vector<std::string> entries;
  for (auto& e : stdfs::directory_iterator(root)) entries.push_back(e.path().filename().string());
  EXPECT_EQ(entries, std::vector<std::string>{a.id});
  stdfs::remove_all(root);
}

TEST(SynthWriter, IncompleteFolderIsNotComplete) {
  auto root = fresh_dir("incomplete");
  stdfs::create_directories(root / "synth-1-000000" / "masks");
  EXPECT_FALSE(sample_complete(root, "synth-1-000000"));
  stdfs::remove_all(root);
}

TEST(SynthWriter, BigSampleStoresA16BitLabelImage) {
  auto root = fresh_dir("big");
  nucseg::SynthConfig c;
  SynthSample s = generate_big_sample(c, 400);
  write_big_sample(root, s);
  cv::Mat labels = cv::imread((root / s.id / "labels.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(labels.type(), CV_16UC1);
  cv::Mat expected;
  s.labels.convertTo(expected, CV_16U);
  EXPECT_EQ(cv::countNonZero(labels != expected), 0);
  EXPECT_TRUE(sample_complete(root, s.id));
  c.output = "/x/data/";
  EXPECT_EQ(big_image_root(c), stdfs::path("/x/data_big"));
  stdfs::remove_all(root);
}
