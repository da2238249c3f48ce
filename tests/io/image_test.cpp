#include <gtest/gtest.h>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/zip_writer.hpp"

using nucseg::io::read_image;
namespace t = nucseg::testing;

namespace {
// Expects read_image to fail with Error(data) naming the file and mentioning `reason`.
void expect_rejected(const std::filesystem::path& path, const std::string& reason) {
  try {
    read_image(path);
    FAIL() << "no error for " << path;
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_EQ(e.context().file, path.string());
    EXPECT_NE(e.message().find(reason), std::string::npos) << e.message();
  }
}

// A valid 8-bit gray PNG of width x 1 zero pixels: zlib stream of stored (uncompressed) blocks.
std::string wide_png(uint32_t width) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    return be32(static_cast<uint32_t>(data.size())) + body + be32(nucseg::io::crc32(body.data(), body.size()));
  };
  const std::string row(width + 1, '\0');  // filter byte + pixels
  std::string z = "\x78\x01";
  for (size_t at = 0; at < row.size(); at += 65535) {
    const size_t n = std::min<size_t>(65535, row.size() - at);
    z += static_cast<char>(at + n == row.size() ? 1 : 0);
    z += {static_cast<char>(n & 0xff), static_cast<char>(n >> 8), static_cast<char>(~n & 0xff), static_cast<char>((~n >> 8) & 0xff)};
    z += row.substr(at, n);
  }
  z += be32(static_cast<uint32_t>(row.size() % 65521) << 16 | 1);  // Adler-32 of zeros: a = 1, b = n
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", be32(width) + be32(1) + std::string("\x08\0\0\0\0", 5)) +
         chunk("IDAT", z) + chunk("IEND", "");
}
}  // namespace

TEST(Image, DecodesRgbaGray16BitTiffAndJpegIntoRgb) {
  auto dir = t::fresh_dir("image");
  cv::Mat bgra(5, 7, CV_8UC4, cv::Scalar(10, 20, 30, 77));
  t::write_png(dir / "rgba.png", bgra);
  auto a = read_image(dir / "rgba.png");
  EXPECT_EQ(a.rgb.type(), CV_8UC3);
  EXPECT_EQ(a.bit_depth, 8);
  EXPECT_EQ(a.source_channels, 4);
  EXPECT_EQ(a.rgb.at<cv::Vec3b>(2, 3), cv::Vec3b(30, 20, 10));  // RGB order, alpha dropped

  cv::Mat gray16(4, 6, CV_16UC1, cv::Scalar(4000));
  gray16.at<uint16_t>(1, 2) = 65535;
  t::write_png(dir / "gray16.png", gray16);
  auto g = read_image(dir / "gray16.png");
  EXPECT_EQ(g.rgb.type(), CV_16UC3);
  EXPECT_EQ(g.bit_depth, 16);
  EXPECT_EQ(g.source_channels, 1);
  EXPECT_EQ(g.rgb.at<cv::Vec3w>(1, 2), cv::Vec3w(65535, 65535, 65535));
  auto unit = nucseg::io::to_unit_float(g.rgb, g.bit_depth);
  EXPECT_EQ(unit.type(), CV_32FC3);
  EXPECT_FLOAT_EQ(unit.at<cv::Vec3f>(1, 2)[0], 1.0f);
  EXPECT_NEAR(unit.at<cv::Vec3f>(0, 0)[1], 4000.0 / 65535.0, 1e-6);

  cv::Mat bgr16(3, 3, CV_16UC3, cv::Scalar(1, 2, 3));
  t::write_png(dir / "rgb16.tif", bgr16);
  auto tif = read_image(dir / "rgb16.tif");
  EXPECT_EQ(tif.rgb.type(), CV_16UC3);
  EXPECT_EQ(tif.rgb.at<cv::Vec3w>(0, 0), cv::Vec3w(3, 2, 1));

  cv::Mat bgr(16, 16, CV_8UC3, cv::Scalar(0, 0, 250));
  t::write_png(dir / "red.jpg", bgr);
  auto j = read_image(dir / "red.jpg");
  EXPECT_EQ(j.rgb.type(), CV_8UC3);
  EXPECT_GT(j.rgb.at<cv::Vec3b>(8, 8)[0], 230);  // red is channel 0 in RGB
  EXPECT_LT(j.rgb.at<cv::Vec3b>(8, 8)[2], 25);
  auto unit8 = nucseg::io::to_unit_float(a.rgb, 8);
  EXPECT_FLOAT_EQ(unit8.at<cv::Vec3f>(0, 0)[0], 30.0f / 255.0f);
  std::filesystem::remove_all(dir);
}

TEST(Image, BadFilesAreDataErrorsNamingFileAndReason) {
  auto dir = t::fresh_dir("image_bad");
  t::write_bytes(dir / "empty.png", "");
  expect_rejected(dir / "empty.png", "zero-byte");
  t::write_bytes(dir / "notes.png", "these are not pixels\n");
  expect_rejected(dir / "notes.png", "not an image");
  expect_rejected(dir / "missing.png", "does not exist");

  cv::Mat noise(64, 64, CV_8UC3);
  cv::randu(noise, 0, 255);
  std::vector<unsigned char> png, jpg;
  cv::imencode(".png", noise, png);
  cv::imencode(".jpg", noise, jpg);
  t::write_bytes(dir / "cut.png", std::string(png.begin(), png.begin() + static_cast<long>(png.size() / 2)));
  expect_rejected(dir / "cut.png", "truncated PNG");
  t::write_bytes(dir / "cut.jpg", std::string(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 2)));
  expect_rejected(dir / "cut.jpg", "truncated JPEG");
  // Intact signature and end marker, garbage in between: the decoder itself must refuse.
  std::string corrupt(png.begin(), png.end());
  for (size_t i = 40; i < corrupt.size() - 20; ++i) corrupt[i] = static_cast<char>(i * 31);
  t::write_bytes(dir / "corrupt.png", corrupt);
  expect_rejected(dir / "corrupt.png", "corrupt");
  std::filesystem::create_directories(dir / "folder.png");
  expect_rejected(dir / "folder.png", "a folder, not an image file");  // infer lists an unlistable folder as an input
  // One that cannot be examined is not "missing" (EACCES for nobody; ENAMETOOLONG, which root meets too).
  expect_rejected(dir / std::string(300, 'x') / "a.png", "image file cannot be read (File name too long)");
  expect_rejected(dir / "gone.png", "image file does not exist");
  std::filesystem::remove_all(dir);
}

// libpng refuses a side above 1,000,000 pixels: a valid PNG that wide is reported as too wide,
// not as corrupt; one just under the limit reads.
TEST(Image, PngWiderThanTheDecoderReadsSaysSo) {
  auto dir = t::fresh_dir("image_wide");
  t::write_bytes(dir / "wide.png", wide_png(2000000));
  expect_rejected(dir / "wide.png", "PNG is 2000000 pixels wide; the PNG decoder reads at most 1,000,000");
  t::write_bytes(dir / "ok.png", wide_png(1000));
  EXPECT_EQ(read_image(dir / "ok.png").rgb.cols, 1000);
  std::filesystem::remove_all(dir);
}
