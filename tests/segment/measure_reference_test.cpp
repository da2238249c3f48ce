// measure_objects against skimage.measure.regionprops (tests/segment/regionprops_reference.py)
// on generated shapes. Tolerances per column:
//   area, bbox, perimeter, intensities, centroid, axes, eccentricity: 1e-6 (same formulas);
//   orientation: 1e-6, compared modulo pi, only where eccentricity > 0.3 (it is undefined for
//   round objects, where rounding decides its sign);
//   solidity: 1e-9 relative: the hull test is exact in integer coordinates and counts pixels
//   on the hull boundary as skimage's point-in-polygon does.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include <unistd.h>

#include <opencv2/imgproc.hpp>

#include "nucseg/segment/measure.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

TEST(MeasureReference, MatchesSkimageRegionprops) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  cv::Mat labels = cv::Mat::zeros(200, 240, CV_32SC1);
  int next = 1;
  // Rotated ellipses (touching and overlapping each other), rectangles, L shapes, lines,
  // single pixels, an object with a hole, objects cut by the image edge.
  for (int i = 0; i < 40; ++i) {
    const cv::Point c(static_cast<int>(10 + 220 * u(rng)), static_cast<int>(10 + 180 * u(rng)));
    const cv::Size axes(static_cast<int>(3 + 12 * u(rng)), static_cast<int>(2 + 8 * u(rng)));
    cv::ellipse(labels, c, axes, 180 * u(rng), 0, 360, cv::Scalar(next++), cv::FILLED);
  }
  labels(cv::Rect(0, 0, 7, 5)).setTo(next++);
  labels(cv::Rect(230, 150, 10, 3)).setTo(next);
  labels(cv::Rect(230, 153, 3, 20)).setTo(next++);
  labels(cv::Rect(100, 195, 40, 1)).setTo(next++);
  labels.at<int32_t>(199, 0) = next++;
  labels.at<int32_t>(150, 5) = next++;
  cv::circle(labels, cv::Point(60, 120), 9, cv::Scalar(next++), cv::FILLED);
  cv::circle(labels, cv::Point(60, 120), 3, cv::Scalar(0), cv::FILLED);
  cv::Mat intensity(labels.size(), CV_32FC1);
  cv::randu(intensity, 0.0f, 1000.0f);

  const fs::path dir = fs::temp_directory_path() / ("nucseg_measure_ref_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  nucseg::test::write_npy((dir / "labels.npy").string(), labels);
  nucseg::test::write_npy((dir / "intensity.npy").string(), intensity);
  const std::string out = nucseg::test::run_command(nucseg::test::python3() + " " + nucseg::test::source_dir() +
                                                    "/tests/segment/regionprops_reference.py " + dir.string());
  fs::remove_all(dir);

  const auto t = nucseg::segment::measure_objects("ref", labels, intensity);
  std::istringstream lines(out);
  std::string line;
  size_t row = 0;
  int round_objects = 0, worst_solidity_row = -1;
  double worst_solidity = 0;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::vector<double> v(18);
    for (auto& x : v) f >> x;
    ASSERT_TRUE(f) << line;
    ASSERT_LT(row, t.size());
    const std::string at = "label " + std::to_string(t.label[row]);
    EXPECT_EQ(t.label[row], static_cast<int>(v[0])) << at;
    EXPECT_DOUBLE_EQ(t.area[row], v[1]) << at;
    EXPECT_NEAR(t.centroid_row[row], v[2], 1e-6) << at;
    EXPECT_NEAR(t.centroid_col[row], v[3], 1e-6) << at;
    EXPECT_EQ(t.bbox_min_row[row], static_cast<int>(v[4])) << at;
    EXPECT_EQ(t.bbox_min_col[row], static_cast<int>(v[5])) << at;
    EXPECT_EQ(t.bbox_max_row[row], static_cast<int>(v[6])) << at;
    EXPECT_EQ(t.bbox_max_col[row], static_cast<int>(v[7])) << at;
    EXPECT_NEAR(t.equivalent_diameter[row], v[8], 1e-6) << at;
    EXPECT_NEAR(t.major_axis_length[row], v[9], 1e-6) << at;
    EXPECT_NEAR(t.minor_axis_length[row], v[10], 1e-6) << at;
    EXPECT_NEAR(t.eccentricity[row], v[11], 1e-6) << at;
    if (v[11] > 0.3) {
      const double d = std::remainder(t.orientation[row] - v[12], M_PI);
      EXPECT_NEAR(d, 0.0, 1e-6) << at << " ours " << t.orientation[row] << " skimage " << v[12];
    } else {
      ++round_objects;
    }
    const double rel = std::abs(t.solidity[row] - v[13]) / v[13];
    if (rel > worst_solidity) { worst_solidity = rel; worst_solidity_row = static_cast<int>(row); }
    EXPECT_LE(rel, 1e-9) << at << " ours " << t.solidity[row] << " skimage " << v[13];
    EXPECT_NEAR(t.perimeter[row], v[14], 1e-6) << at;
    EXPECT_NEAR(t.mean_intensity[row], v[15], 1e-3 * std::max(1.0, std::abs(v[15]))) << at;
    EXPECT_NEAR(t.min_intensity[row], v[16], 1e-3) << at;
    EXPECT_NEAR(t.max_intensity[row], v[17], 1e-3) << at;
    ++row;
  }
  EXPECT_EQ(row, t.size()) << out;
  EXPECT_GT(row, 40u);
  std::printf("compared %zu objects; worst solidity difference %.4f%% (row %d); %d round objects\n", row,
              100 * worst_solidity, worst_solidity_row, round_objects);
}
