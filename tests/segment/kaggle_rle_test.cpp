// Kaggle DSB 2018 run-length encoding: the competition's own example, labels -> RLE -> labels,
// malformed text, and agreement with an independent numpy encoder.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/kaggle_rle.hpp"
#include "test_util.hpp"

namespace {

using nucseg::segment::decode_rle;
using nucseg::segment::encode_rle;

cv::Mat decode_all(const std::vector<std::pair<int32_t, std::string>>& objects, cv::Size size) {
  cv::Mat labels = cv::Mat::zeros(size, CV_32SC1);
  for (const auto& [label, rle] : objects) decode_rle(rle, label, labels, "test");
  return labels;
}

TEST(KaggleRle, ColumnMajorOneBased) {
  // The competition: "1 is pixel (1,1), 2 is pixel (2,1)": down the first column first.
  const cv::Mat labels = (cv::Mat_<int32_t>(3, 3) << 1, 0, 2,
                                                     1, 0, 2,
                                                     0, 1, 2);
  const auto objects = encode_rle(labels);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0], std::make_pair(1, std::string("1 2 6 1")));
  EXPECT_EQ(objects[1], std::make_pair(2, std::string("7 3")));
  // "1 3 10 5": pixels 1, 2, 3, 10 .. 14; a run continues from one column into the next.
  cv::Mat decoded = cv::Mat::zeros(5, 3, CV_32SC1);
  decode_rle("1 3 10 5", 7, decoded, "example");
  EXPECT_EQ(cv::countNonZero(decoded), 8);
  EXPECT_EQ(decoded.at<int32_t>(2, 0), 7);
  EXPECT_EQ(decoded.at<int32_t>(3, 0), 0);
  EXPECT_EQ(decoded.at<int32_t>(4, 1), 7);
  EXPECT_EQ(decoded.at<int32_t>(0, 2), 7);
  EXPECT_EQ(decoded.at<int32_t>(3, 2), 7);
}

TEST(KaggleRle, RoundTrip) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    cv::Mat labels = nucseg::test::touching_discs(96, 130, 25, 3, 12, seed);
    labels.row(0).setTo(99);  // runs across column boundaries; a label at the image's edge
    labels.col(labels.cols - 1).setTo(100);
    const auto objects = encode_rle(labels);
    const cv::Mat back = decode_all(objects, labels.size());
    EXPECT_EQ(cv::countNonZero(back != labels), 0) << "seed " << seed;
  }
  EXPECT_TRUE(encode_rle(cv::Mat::zeros(4, 4, CV_32SC1)).empty());
}

TEST(KaggleRle, RejectsMalformedText) {
  auto decode = [](const std::string& rle) {
    cv::Mat labels = cv::Mat::zeros(4, 4, CV_32SC1);
    labels.at<int32_t>(3, 3) = 5;  // pixel 16 belongs to another mask
    decode_rle(rle, 1, labels, "bad.csv");
  };
  EXPECT_NO_THROW(decode("1 2 5 3"));
  EXPECT_NO_THROW(decode(""));
  for (const char* bad : {"1 2 3", "5 2 1 2", "1 3 3 1", "0 2", "3 0", "15 3", "16 1", "1 x", "-1 2"})
    EXPECT_THROW(decode(bad), nucseg::Error) << bad;
}

TEST(KaggleRle, AgreesWithNumpyEncoder) {
  const cv::Mat labels = nucseg::test::touching_discs(77, 101, 30, 2, 10, 17);
  const std::string file = (std::filesystem::temp_directory_path() / ("nucseg_rle_" + std::to_string(::getpid()) + ".npy")).string();
  nucseg::test::write_npy(file, labels);
  const std::string out = nucseg::test::run_command(nucseg::test::python3() + " " + nucseg::test::source_dir() +
                                                    "/tests/segment/kaggle_rle_reference.py " + file);
  std::filesystem::remove(file);
  std::map<int32_t, std::string> reference;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    reference[std::stoi(line.substr(0, tab))] = line.substr(tab + 1);
  }
  const auto objects = encode_rle(labels);
  ASSERT_GE(objects.size(), 20u);
  ASSERT_EQ(objects.size(), reference.size());
  for (const auto& [label, rle] : objects) EXPECT_EQ(rle, reference[label]) << "label " << label;
}

}  // namespace
