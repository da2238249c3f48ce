// End to end: the nucseg_synth binary writes the Kaggle layout, skips complete images on a
// rerun, and 2 MPI ranks write exactly the same files as 1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <opencv2/imgcodecs.hpp>

#include "nucseg/core/fs.hpp"

namespace stdfs = std::filesystem;

namespace {

int run(const std::string& command) {
  int rc = std::system((command + " > /dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string args(const stdfs::path& out, int count) {
  return " --set synth.output=" + out.string() + " --set synth.count=" + std::to_string(count) +
         " --set synth.min_side=64 --set synth.max_side=96 --set synth.seed=3";
}

// Relative path -> checksum of every file under `root`.
std::map<std::string, std::string> checksums(const stdfs::path& root) {
  std::map<std::string, std::string> out;
  for (auto& e : stdfs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[stdfs::relative(e.path(), root).string()] = nucseg::fs::file_checksum(e.path());
  return out;
}

}  // namespace

TEST(SynthTool, WritesKaggleLayoutSkipsOnRerunAndRanksAgree) {
  const auto base = stdfs::temp_directory_path() / ("nucseg-synth-e2e-" + std::to_string(::getpid()));
  stdfs::remove_all(base);
  const auto one = base / "one", two = base / "two";
  const std::string exe = NUCSEG_SYNTH_EXE;

  ASSERT_EQ(run(exe + args(one, 5) + " --set synth.big_image=300"), 0);
  int images = 0;
  for (auto& e : stdfs::directory_iterator(one)) {
    const std::string id = e.path().filename().string();
    ASSERT_EQ(id.rfind("synth-3-", 0), 0u) << id;
    cv::Mat image = cv::imread((e.path() / "images" / (id + ".png")).string(), cv::IMREAD_UNCHANGED);
    EXPECT_EQ(image.channels(), 4) << id;
    size_t masks = 0;
    for (auto& m : stdfs::directory_iterator(e.path() / "masks")) {
      cv::Mat mask = cv::imread(m.path().string(), cv::IMREAD_UNCHANGED);
      EXPECT_EQ(mask.type(), CV_8UC1);
      EXPECT_EQ(mask.size(), image.size());
      ++masks;
    }
    EXPECT_GT(masks, 0u) << id;
    ++images;
  }
  EXPECT_EQ(images, 5);
  EXPECT_TRUE(stdfs::exists(base / "one_big" / "synth-3-big-300" / "labels.png"));

  // A rerun leaves complete images untouched and completes missing ones.
  const auto before = checksums(one);
  const auto kept = one / "synth-3-000001" / "images" / "synth-3-000001.png";
  const auto stamp = stdfs::last_write_time(kept);
  stdfs::remove_all(one / "synth-3-000004");
  ASSERT_EQ(run(exe + args(one, 5)), 0);
  EXPECT_EQ(stdfs::last_write_time(kept), stamp);
  EXPECT_EQ(checksums(one), before);
  ASSERT_EQ(run(exe + args(one, 5) + " --set synth.overwrite=true"), 0);
  EXPECT_NE(stdfs::last_write_time(kept), stamp);
  EXPECT_EQ(checksums(one), before);

  // Two ranks split the images and write the same bytes.
  ASSERT_EQ(run(std::string(NUCSEG_MPIEXEC) + " -n 2 --allow-run-as-root --oversubscribe --bind-to none " + exe +
                args(two, 5)),
            0);
  auto sums_two = checksums(two);
  auto sums_one = checksums(one);
  EXPECT_EQ(sums_two, sums_one);

  // A bad value is a configuration error (exit 2).
  EXPECT_EQ(run(exe + args(base / "bad", 1) + " --set synth.style=sepia"), 2);
  stdfs::remove_all(base);
}
