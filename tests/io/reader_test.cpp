// read_raw_image: every pixel layout the readers promise, values checked exactly.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/image.hpp"
#include "tiff_fixture.hpp"

using nucseg::io::PixelRange;
using nucseg::io::read_raw_image;
using nucseg::io::check_declared_size;
namespace t = nucseg::testing;

namespace {

// A w x h image of `n` channels whose every sample differs: value = f(y, x, c) within `depth`.
cv::Mat ramp(int rows, int cols, int n, int depth, int step = 1) {
  cv::Mat m(rows, cols, CV_MAKETYPE(depth, n));
  const double top = depth == CV_8U ? 255 : depth == CV_16U ? 65535 : 2e9;
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      for (int c = 0; c < n; ++c) {
        double v = std::fmod(static_cast<double>(((y * cols + x) * n + c) * step + 7 * c), top + 1);
        if (depth == CV_8U) m.ptr<uint8_t>(y)[x * n + c] = static_cast<uint8_t>(v);
        else if (depth == CV_16U) m.ptr<uint16_t>(y)[x * n + c] = static_cast<uint16_t>(v);
        else m.ptr<int32_t>(y)[x * n + c] = static_cast<int32_t>(v);
      }
  return m;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.type() == b.type() && a.size() == b.size() && cv::countNonZero(a.reshape(1) != b.reshape(1)) == 0;
}

std::string data_error(const std::filesystem::path& path, PixelRange range = PixelRange::image) {
  try {
    read_raw_image(path, range);
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_EQ(e.context().file, path.string());
    return e.message();
  }
  ADD_FAILURE() << "no error for " << path;
  return {};
}

class Reader : public ::testing::Test {
 protected:
  void SetUp() override { dir = t::fresh_dir("reader"); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

}  // namespace

TEST_F(Reader, TwoChannelInterleaved16BitTiff) {
  cv::Mat m = ramp(9, 11, 2, CV_16U, 301);
  t::write_tiff(dir / "two.tif", {{m}});
  auto raw = read_raw_image(dir / "two.tif");
  EXPECT_TRUE(same(raw.pixels, m));
  EXPECT_EQ(raw.channels(), 2);
  EXPECT_FALSE(raw.alpha);
  EXPECT_EQ(raw.container_bits(), 16);
  EXPECT_EQ(raw.format, "tiff");
  t::write_tiff(dir / "two_be.tif", {{m}}, "wb");  // big-endian samples are swapped
  EXPECT_TRUE(same(read_raw_image(dir / "two_be.tif").pixels, m));
  t::write_tiff(dir / "two_big.tif", {{m}}, "w8");  // BigTIFF
  EXPECT_TRUE(same(read_raw_image(dir / "two_big.tif").pixels, m));
}

TEST_F(Reader, FiveChannelInterleavedTiffInStripsTilesAndPlanes) {
  cv::Mat m = ramp(37, 45, 5, CV_8U, 3);
  t::write_tiff(dir / "strips.tif", {{m}});
  t::TiffPage tiled{m};
  tiled.tile = 16;  // 45x37 is not a multiple of the tile: edge tiles are clipped
  tiled.deflate = true;
  t::write_tiff(dir / "tiles.tif", {tiled});
  t::TiffPage planar{m};
  planar.separate = true;
  t::write_tiff(dir / "planar.tif", {planar});
  t::TiffPage planar_tiles = planar;
  planar_tiles.tile = 32;
  t::write_tiff(dir / "planar_tiles.tif", {planar_tiles});
  for (const char* name : {"strips.tif", "tiles.tif", "planar.tif", "planar_tiles.tif"}) {
    auto raw = read_raw_image(dir / name);
    EXPECT_TRUE(same(raw.pixels, m)) << name;
    EXPECT_EQ(raw.pages, 1) << name;
  }
}

TEST_F(Reader, MultiPageTiffGivesOneChannelPerPageAndSkipsThumbnails) {
  cv::Mat a = ramp(20, 30, 1, CV_16U, 5), b = ramp(20, 30, 1, CV_16U, 11), c = ramp(20, 30, 1, CV_16U, 17);
  t::TiffPage thumb{cv::Mat(5, 7, CV_8UC3, cv::Scalar(1, 2, 3))};
  thumb.reduced = true;
  t::write_tiff(dir / "stack.tif", {{a}, thumb, {b}, {c}});
  auto raw = read_raw_image(dir / "stack.tif");
  ASSERT_EQ(raw.channels(), 3);
  EXPECT_EQ(raw.pages, 3);
  std::vector<cv::Mat> planes;
  cv::split(raw.pixels, planes);
  EXPECT_TRUE(same(planes[0], a));
  EXPECT_TRUE(same(planes[1], b));
  EXPECT_TRUE(same(planes[2], c));

  // Pages with several samples stack sample by sample; pages must agree in size and depth.
  cv::Mat rgb = ramp(20, 30, 3, CV_16U, 13);
  t::write_tiff(dir / "mixed.tif", {{rgb}, {a}});
  auto mixed = read_raw_image(dir / "mixed.tif");
  ASSERT_EQ(mixed.channels(), 4);
  cv::split(mixed.pixels, planes);
  EXPECT_TRUE(same(planes[3], a));
  t::write_tiff(dir / "sizes.tif", {{a}, {ramp(21, 30, 1, CV_16U)}});
  EXPECT_NE(data_error(dir / "sizes.tif").find("page 1 is 30x21 16-bit but the first page is 30x20 16-bit"),
            std::string::npos);
  t::write_tiff(dir / "depths.tif", {{a}, {ramp(20, 30, 1, CV_8U)}});
  EXPECT_NE(data_error(dir / "depths.tif").find("multi-page TIFF"), std::string::npos);
}

TEST_F(Reader, PngAndJpegComeInSourceOrder) {
  cv::Mat bgr16 = ramp(6, 8, 3, CV_16U, 997);
  t::write_png(dir / "c16.png", bgr16);
  auto raw = read_raw_image(dir / "c16.png");
  cv::Mat rgb16;
  cv::cvtColor(bgr16, rgb16, cv::COLOR_BGR2RGB);
  EXPECT_TRUE(same(raw.pixels, rgb16));  // RGB, not OpenCV's BGR
  EXPECT_EQ(raw.format, "png");

  cv::Mat gray16 = ramp(6, 8, 1, CV_16U, 4099);
  t::write_png(dir / "g16.png", gray16);
  EXPECT_TRUE(same(read_raw_image(dir / "g16.png").pixels, gray16));

  cv::Mat bgra(4, 4, CV_8UC4, cv::Scalar(10, 20, 30, 40));
  t::write_png(dir / "a.png", bgra);
  auto a = read_raw_image(dir / "a.png");
  EXPECT_TRUE(a.alpha);
  EXPECT_EQ(a.pixels.at<cv::Vec4b>(1, 1), cv::Vec4b(30, 20, 10, 40));

  t::write_png(dir / "red.jpg", cv::Mat(16, 16, CV_8UC3, cv::Scalar(0, 0, 250)));
  auto j = read_raw_image(dir / "red.jpg");
  EXPECT_EQ(j.format, "jpeg");
  EXPECT_GT(j.pixels.at<cv::Vec3b>(8, 8)[0], 230);
}

TEST_F(Reader, ThirtyTwoBitLabelTiffOnlyAsLabels) {
  cv::Mat labels(12, 10, CV_32SC1, cv::Scalar(0));
  labels(cv::Rect(1, 1, 4, 4)).setTo(70000);
  labels(cv::Rect(5, 5, 4, 4)).setTo(2000000000);
  t::write_tiff(dir / "labels.tif", {{labels}});
  auto raw = read_raw_image(dir / "labels.tif", PixelRange::labels);
  EXPECT_TRUE(same(raw.pixels, labels));
  EXPECT_EQ(raw.container_bits(), 32);
  EXPECT_NE(data_error(dir / "labels.tif").find("32-bit"), std::string::npos);

  labels.at<int32_t>(0, 0) = -5;
  t::write_tiff(dir / "negative.tif", {{labels}});
  EXPECT_NE(data_error(dir / "negative.tif", PixelRange::labels).find("negative"), std::string::npos);
}

// ImageJ's "32-bit" and deconvolution output: float samples, each channel mapped to 16 bits
// over its own finite range, NaN and -inf (or -FLT_MAX) to 0, +inf (or +FLT_MAX) to the top.
TEST_F(Reader, FloatTiffIsMappedTo16BitsPerChannelOverItsFiniteRange) {
  using Px2 = cv::Vec<uint16_t, 2>;
  cv::Mat f(6, 7, CV_32FC2);
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x)  // channel 1 spans 4 orders of magnitude more than channel 0
      f.at<cv::Vec2f>(y, x) = {-0.5f + 0.1f * static_cast<float>(y * 7 + x), 1000.0f * static_cast<float>(x * y)};
  f.at<cv::Vec2f>(0, 0)[1] = std::nanf("");
  f.at<cv::Vec2f>(0, 1)[1] = std::numeric_limits<float>::infinity();
  f.at<cv::Vec2f>(0, 2)[1] = -std::numeric_limits<float>::infinity();
  f.at<cv::Vec2f>(0, 3)[1] = std::numeric_limits<float>::max();
  std::vector<cv::Mat> planes;
  cv::split(f, planes);
  double lo[2], hi[2];
  cv::minMaxLoc(planes[0], &lo[0], &hi[0]);
  lo[1] = 0.0, hi[1] = 1000.0 * 5 * 6;  // the finite values of channel 1
  for (int tile : {0, 16}) {
    const auto file = dir / ("float" + std::to_string(tile) + ".tif");
    t::write_tiff(file, {{f, false, tile}});
    auto raw = read_raw_image(file);
    ASSERT_EQ(raw.pixels.type(), CV_16UC2);
    for (int y = 0; y < f.rows; ++y)
      for (int x = 0; x < f.cols; ++x)
        for (int k = 0; k < 2; ++k) {
          if (k == 1 && y == 0 && x < 4) continue;
          const double v = f.at<cv::Vec2f>(y, x)[k];
          ASSERT_EQ(raw.pixels.at<Px2>(y, x)[k], std::lround((v - lo[k]) / (hi[k] - lo[k]) * 65535.0))
              << y << "," << x << "," << k;
        }
    EXPECT_EQ(raw.pixels.at<Px2>(0, 0)[1], 0);      // NaN
    EXPECT_EQ(raw.pixels.at<Px2>(0, 1)[1], 65535);  // +inf
    EXPECT_EQ(raw.pixels.at<Px2>(0, 2)[1], 0);      // -inf
    EXPECT_EQ(raw.pixels.at<Px2>(0, 3)[1], 65535);  // FLT_MAX, a "no data" value, is not the range's top
    EXPECT_NE(raw.converted.find("32-bit float"), std::string::npos) << raw.converted;
  }
  // Two pages, one channel each, mapped apart.
  t::write_tiff(dir / "pages.tif", {{planes[0]}, {planes[0] * 100.0f + 7.0f}});
  auto pages = read_raw_image(dir / "pages.tif");
  ASSERT_EQ(pages.pixels.type(), CV_16UC2);
  std::vector<cv::Mat> read_planes;
  cv::split(pages.pixels, read_planes);
  EXPECT_TRUE(same(read_planes[0], read_planes[1]));
  // Floats that are a linear map of 16-bit data spanning 0 .. 65535 read back as that data.
  cv::Mat u16 = ramp(9, 11, 1, CV_16U, 659), scaled;
  u16.at<uint16_t>(0, 0) = 0;
  u16.at<uint16_t>(8, 10) = 65535;
  u16.convertTo(scaled, CV_32F, 0.001, 0.25);
  t::write_tiff(dir / "scaled.tif", {{scaled}});
  EXPECT_TRUE(same(read_raw_image(dir / "scaled.tif").pixels, u16));
  // A constant float image reads as 0; integer files report no conversion.
  t::write_tiff(dir / "flat.tif", {{cv::Mat(4, 5, CV_32FC1, cv::Scalar(3.25))}});
  EXPECT_EQ(cv::countNonZero(read_raw_image(dir / "flat.tif").pixels), 0);
  t::write_tiff(dir / "int.tif", {{ramp(4, 5, 1, CV_16U)}});
  EXPECT_TRUE(read_raw_image(dir / "int.tif").converted.empty());
  // Labels are integers.
  EXPECT_NE(data_error(dir / "flat.tif", PixelRange::labels).find("floating-point"), std::string::npos);
}

TEST_F(Reader, TruncatedTiffsAreDetected) {
  // libtiff writes pixels first and the directory last: a cut loses the directory.
  cv::Mat m = ramp(64, 64, 1, CV_16U, 7);
  t::write_tiff(dir / "whole.tif", {{m}});
  std::string bytes = nucseg::fs::read_file(dir / "whole.tif");
  t::write_bytes(dir / "cut_dir.tif", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(data_error(dir / "cut_dir.tif").find("truncated TIFF"), std::string::npos);

  // Directory first, pixels after: the cut loses pixels, which the strip check catches.
  cv::Mat gray = ramp(40, 50, 1, CV_8U, 1);
  std::string first = t::directory_first_tiff(gray);
  t::write_bytes(dir / "dir_first.tif", first);
  EXPECT_TRUE(same(read_raw_image(dir / "dir_first.tif").pixels, gray));  // the fixture itself is valid
  t::write_bytes(dir / "cut_pixels.tif", first.substr(0, first.size() - 100));
  EXPECT_NE(data_error(dir / "cut_pixels.tif").find("truncated TIFF: page 0 strip 0 ends at byte"), std::string::npos);

  t::write_bytes(dir / "header.tif", std::string("II*\0", 4));
  EXPECT_NE(data_error(dir / "header.tif").find("truncated TIFF"), std::string::npos);
}

TEST_F(Reader, OpenCvWrittenTiffsStillRead) {
  cv::Mat bgr16 = ramp(5, 9, 3, CV_16U, 1234);
  t::write_png(dir / "cv.tif", bgr16);  // OpenCV's own TIFF encoder
  auto raw = read_raw_image(dir / "cv.tif");
  cv::Mat rgb16;
  cv::cvtColor(bgr16, rgb16, cv::COLOR_BGR2RGB);
  EXPECT_TRUE(same(raw.pixels, rgb16));
}

// Files whose headers claim sizes they do not hold (found by fuzzing the readers; tests/io/hostile):
// a 2.6 KB TIFF asking for 77 GB, a label TIFF for 52 TB, 150-byte TIFFs whose strip or tile
// buffer alone is 1-4 GB, 332- and 631-byte JPEGs claiming 30000 x 30000 pixels (one with a
// stray byte before its frame header, which libjpeg skips with a warning). Each is refused
// as a data error naming the file (pack rejects that input, infer records one failure) before a
// large buffer exists: the process stays well under 1 GB. Before, OpenCV's exception ended the
// whole run ("unexpected failure") or the read used up to 14 GB.
TEST_F(Reader, HeadersClaimingHugeImagesAreRefusedBeforeAllocating) {
  const char* source = std::getenv("NUCSEG_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  const std::filesystem::path dir = std::filesystem::path(source) / "tests" / "io" / "hostile";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    const auto name = entry.path().filename().string();
    const auto range = name.rfind("label", 0) == 0 ? PixelRange::labels : PixelRange::image;
    try {
      read_raw_image(entry.path(), range);
      ADD_FAILURE() << name << " was read";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::data) << name;
      const std::string what = e.what();
      EXPECT_NE(what.find(name), std::string::npos) << what;
      // Refused by the size checks, not by an allocation that happened to fail.
      EXPECT_TRUE(what.find("nucseg decodes at most") != std::string::npos || what.find("tiles for a") != std::string::npos)
          << what;
    }
  }
  EXPECT_EQ(files, 8);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  EXPECT_LT(usage.ru_maxrss, 1024L * 1024L) << "peak resident set " << usage.ru_maxrss << " KiB";
  // A legal image of the largest size allowed by its header is not refused by the size check.
  EXPECT_NO_THROW(check_declared_size(16384, 16384, 4, "x"));
  EXPECT_THROW(check_declared_size(16385, 16384, 1, "x"), nucseg::Error);
  EXPECT_THROW(check_declared_size(16384, 16384, 5, "x"), nucseg::Error);
}
