// map_channels: what rgb, gray and index lists make of 1..N-channel images.
#include <gtest/gtest.h>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/io/channels.hpp"
#include "tiff_fixture.hpp"

using nucseg::ChannelSpec;
using nucseg::io::map_channels;
using nucseg::io::RawImage;
namespace t = nucseg::testing;

namespace {

// n channels, channel c holding the constant 10 * (c + 1) (+ 1000 for 16-bit).
RawImage constant_channels(int n, int depth = CV_8U, bool alpha = false, int pages = 1) {
  std::vector<cv::Mat> planes;
  for (int c = 0; c < n; ++c)
    planes.emplace_back(3, 4, CV_MAKETYPE(depth, 1), cv::Scalar(10 * (c + 1) + (depth == CV_16U ? 1000 : 0)));
  RawImage raw;
  cv::merge(planes, raw.pixels);
  raw.alpha = alpha;
  raw.pages = pages;
  raw.format = "tiff";
  return raw;
}

ChannelSpec rgb() { return {ChannelSpec::Kind::rgb, {}}; }
ChannelSpec gray() { return {ChannelSpec::Kind::gray, {}}; }
ChannelSpec list(std::vector<int> i) { return {ChannelSpec::Kind::indices, std::move(i)}; }

cv::Vec3b px(const cv::Mat& m) { return m.at<cv::Vec3b>(1, 2); }

nucseg::Error error_of(const RawImage& raw, const ChannelSpec& spec) {
  try {
    map_channels(raw, spec, "/data/x.tif", "data.channels");
  } catch (const nucseg::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return nucseg::Error(nucseg::ErrorKind::runtime, "none");
}

}  // namespace

TEST(Channels, RgbReplicatesGrayDropsAlphaAndKeepsColour) {
  EXPECT_EQ(px(map_channels(constant_channels(1), rgb(), "f", "k")), cv::Vec3b(10, 10, 10));
  EXPECT_EQ(px(map_channels(constant_channels(2, CV_8U, true), rgb(), "f", "k")), cv::Vec3b(10, 10, 10));
  EXPECT_EQ(px(map_channels(constant_channels(3), rgb(), "f", "k")), cv::Vec3b(10, 20, 30));
  EXPECT_EQ(px(map_channels(constant_channels(4, CV_8U, true), rgb(), "f", "k")), cv::Vec3b(10, 20, 30));
  cv::Mat deep = map_channels(constant_channels(3, CV_16U), rgb(), "f", "k");
  EXPECT_EQ(deep.type(), CV_16UC3);  // the source depth stays: normalisation comes later
  EXPECT_EQ(deep.at<cv::Vec3w>(0, 0), cv::Vec3w(1010, 1020, 1030));
}

TEST(Channels, RgbAndGrayAskForAListWhenTheyCannotTell) {
  for (const auto& raw : {constant_channels(2), constant_channels(5), constant_channels(4, CV_8U, false, 4)}) {
    for (const auto& spec : {rgb(), gray()}) {
      auto e = error_of(raw, spec);
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
      EXPECT_EQ(e.context().file, "/data/x.tif");
      EXPECT_EQ(e.context().key, "data.channels");
      EXPECT_NE(e.message().find("set data.channels"), std::string::npos) << e.message();
    }
  }
}

TEST(Channels, GrayIsTheLuminanceReplicated) {
  auto out = map_channels(constant_channels(3), gray(), "f", "k");
  uint8_t luma = static_cast<uint8_t>(std::lround(0.299 * 10 + 0.587 * 20 + 0.114 * 30));
  EXPECT_EQ(px(out), cv::Vec3b(luma, luma, luma));
  EXPECT_EQ(px(map_channels(constant_channels(1), gray(), "f", "k")), cv::Vec3b(10, 10, 10));
}

TEST(Channels, IndexListsPickSourceChannels) {
  auto five = constant_channels(5);
  EXPECT_EQ(px(map_channels(five, list({1}), "f", "k")), cv::Vec3b(20, 20, 20));  // nuclear stain, replicated
  EXPECT_EQ(px(map_channels(five, list({4, 0, 2}), "f", "k")), cv::Vec3b(50, 10, 30));
  EXPECT_EQ(px(map_channels(constant_channels(2), list({1}), "f", "k")), cv::Vec3b(20, 20, 20));

  auto e = error_of(constant_channels(3), list({0, 5, 1}));
  EXPECT_EQ(e.context().file, "/data/x.tif");
  EXPECT_EQ(e.context().key, "data.channels");
  EXPECT_NE(e.message().find("channel index 5 is out of range: the image has 3 channels"), std::string::npos)
      << e.message();
  EXPECT_NE(std::string(e.what()).find("key 'data.channels', file '/data/x.tif'"), std::string::npos) << e.what();
}

TEST(Channels, ReadImageAppliesTheChoiceToAFile) {
  auto dir = t::fresh_dir("channels");
  std::vector<cv::Mat> planes;
  for (int c = 0; c < 5; ++c) planes.emplace_back(6, 7, CV_16UC1, cv::Scalar(100 * (c + 1)));
  cv::Mat five;
  cv::merge(planes, five);
  t::write_tiff(dir / "five.tif", {{five}});
  auto image = nucseg::io::read_image(dir / "five.tif", list({1}), "infer.channels");
  EXPECT_EQ(image.rgb.type(), CV_16UC3);
  EXPECT_EQ(image.rgb.at<cv::Vec3w>(2, 2), cv::Vec3w(200, 200, 200));
  EXPECT_EQ(image.source_channels, 5);
  EXPECT_EQ(image.bit_depth, 16);
  EXPECT_EQ(image.effective_bits, 8);  // 200 fits in 8 bits
  EXPECT_THROW(nucseg::io::read_image(dir / "five.tif"), nucseg::Error);  // rgb cannot tell
  std::filesystem::remove_all(dir);
}
