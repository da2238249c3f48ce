// infer.export_rle: submission.csv from a segmentation.h5, decoded by an independent Python
// reader (csv module + numpy) back into the label images it came from.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "../segment/test_util.hpp"
#include "nucseg/infer/submission.hpp"
#include "segmentation_fixture.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::testing::write_segmentation;

long distinct_labels(const cv::Mat& labels) {
  std::set<int32_t> values(labels.begin<int32_t>(), labels.end<int32_t>());
  values.erase(0);
  return static_cast<long>(values.size());
}

TEST(Submission, PythonDecodesTheLabelImages) {
  nucseg::testing::ScratchDir dir("submission");
  const cv::Mat a = nucseg::test::touching_discs(60, 90, 15, 3, 9, 3);
  cv::Mat b = nucseg::test::touching_discs(64, 48, 6, 3, 8, 4);
  b.col(0).setTo(77);  // an object at the edge, a run from one column into the next
  const cv::Mat empty = cv::Mat::zeros(32, 32, CV_32SC1);
  write_segmentation(dir.path() / "segmentation.h5", {{"a", a}, {"b, with \"comma\"", b}, {"empty", empty}});

  const auto summary = nucseg::infer::write_submission(dir.path());
  const long na = distinct_labels(a), nb = distinct_labels(b);
  ASSERT_GE(na, 10);
  EXPECT_EQ(summary.images, 3);
  EXPECT_EQ(summary.rows, na + nb + 1);  // the image without nuclei: one empty row

  nucseg::test::write_npy((dir.path() / "a.npy").string(), a);
  nucseg::test::write_npy((dir.path() / "b.npy").string(), b);
  nucseg::test::write_npy((dir.path() / "empty.npy").string(), empty);
  const std::string out = nucseg::test::run_command(
      nucseg::test::python3() + " " + nucseg::test::source_dir() + "/tests/infer/submission_check.py " +
      (dir.path() / "submission.csv").string() + " a=" + (dir.path() / "a.npy").string() + " 'b, with \"comma\"=" +
      (dir.path() / "b.npy").string() + "' empty=" + (dir.path() / "empty.npy").string());
  std::ostringstream expected;
  expected << "a\t" << na << "\t1\n" << "b, with \"comma\"\t" << nb << "\t1\n" << "empty\t1\t1\n";
  EXPECT_EQ(out, expected.str());
  EXPECT_FALSE(stdfs::exists(dir.path() / ("submission.csv.tmp-" + std::to_string(::getpid()))));
}

}  // namespace
