// Pixel sizes from file metadata: which tags count, which values are refused, and that a label
// TIFF nucseg writes carries its pixel size back.
#include "nucseg/io/pixel_size.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "nucseg/io/image.hpp"
#include "nucseg/io/label_tiff.hpp"
#include "nucseg/io/zip_writer.hpp"
#include "test_util.hpp"

namespace {

using nucseg::io::PixelSize;
using nucseg::io::TiffResolution;
using nucseg::io::pixel_size_from_tiff;

TEST(PixelSize, ImageJTiffUsesTheUnitOfItsDescription) {
  TiffResolution t{2.0, 2.0, 1, "ImageJ=1.53t\nimages=1\nunit=micron\n"};
  PixelSize p = pixel_size_from_tiff(t);
  EXPECT_DOUBLE_EQ(p.um, 0.5);
  EXPECT_NE(p.source.find("ImageJ unit micron"), std::string::npos) << p.source;
  t.description = "ImageJ=1.53t\nunit=nm\n";
  t.x = t.y = 0.01;  // 100 nm per pixel
  EXPECT_NEAR(pixel_size_from_tiff(t).um, 0.1, 1e-12);
  t.description = "ImageJ=1.53t\nunit=pixel\n";
  EXPECT_FALSE(pixel_size_from_tiff(t).known());
}

TEST(PixelSize, OmeXmlWinsAndConvertsItsUnit) {
  TiffResolution t{72.0, 72.0, 2,
                   "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
                   "<Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" PhysicalSizeX=\"325\" "
                   "PhysicalSizeXUnit=\"nm\" PhysicalSizeY=\"0.325\" PhysicalSizeYUnit=\"\xc2\xb5m\" SizeX=\"8\"/>"
                   "</Image></OME>"};
  PixelSize p = pixel_size_from_tiff(t);
  EXPECT_NEAR(p.um, 0.325, 1e-12);
  EXPECT_EQ(p.source, "OME-XML PhysicalSizeX");
  // Without a unit attribute OME means micrometres.
  t.description = "<OME><Image><Pixels PhysicalSizeX=\"0.65\" PhysicalSizeY=\"0.65\"/></Image></OME>";
  EXPECT_DOUBLE_EQ(pixel_size_from_tiff(t).um, 0.65);
}

TEST(PixelSize, PlainTiffResolutionInCentimetresOrInches) {
  EXPECT_NEAR(pixel_size_from_tiff({20000.0, 20000.0, 3, ""}).um, 0.5, 1e-12);  // 20000 px/cm
  EXPECT_NEAR(pixel_size_from_tiff({50800.0, 50800.0, 2, ""}).um, 0.5, 1e-12);  // px/inch
  // The defaults of image editors are not a microscope's pixel: 72 dpi = 352.8 um.
  PixelSize dpi72 = pixel_size_from_tiff({72.0, 72.0, 2, ""});
  EXPECT_FALSE(dpi72.known());
  EXPECT_NE(dpi72.source.find("outside"), std::string::npos) << dpi72.source;
  EXPECT_FALSE(pixel_size_from_tiff({2.0, 2.0, 1, ""}).known());       // unit none: a ratio only
  EXPECT_FALSE(pixel_size_from_tiff({20000.0, 10000.0, 3, ""}).known());  // not square
  EXPECT_FALSE(pixel_size_from_tiff({0.0, 0.0, 3, ""}).known());
}

// A PNG with a pHYs chunk (pixels per metre) inserted before its IDAT.
std::vector<unsigned char> png_with_phys(uint32_t per_metre, unsigned char unit) {
  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(4, 4, CV_8UC1, cv::Scalar(7)), png);
  std::string chunk = std::string("pHYs");
  for (int k = 0; k < 2; ++k)
    for (int s = 24; s >= 0; s -= 8) chunk += static_cast<char>((per_metre >> s) & 0xff);
  chunk += static_cast<char>(unit);
  const uint32_t crc = nucseg::io::crc32(chunk.data(), chunk.size());
  std::string bytes = {0, 0, 0, 9};
  bytes += chunk;
  for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((crc >> s) & 0xff);
  png.insert(png.begin() + 33, bytes.begin(), bytes.end());  // after the signature and IHDR
  return png;
}

TEST(PixelSize, PngPhysInPixelsPerMetre) {
  EXPECT_NEAR(nucseg::io::pixel_size_from_png(png_with_phys(2000000, 1)).um, 0.5, 1e-12);
  EXPECT_FALSE(nucseg::io::pixel_size_from_png(png_with_phys(2000000, 0)).known());  // unit unknown
  EXPECT_FALSE(nucseg::io::pixel_size_from_png(png_with_phys(2835, 1)).known());     // 72 dpi
  auto dir = nucseg::testing::fresh_dir("pixel-size-png");
  nucseg::testing::write_bytes(dir / "a.png", std::string(reinterpret_cast<const char*>(png_with_phys(1538462, 1).data()),
                                                          png_with_phys(1538462, 1).size()));
  auto raw = nucseg::io::read_raw_image(dir / "a.png");
  EXPECT_EQ(raw.pixels.at<uint8_t>(2, 2), 7);  // libpng accepted the chunk's CRC
  EXPECT_NEAR(raw.pixel_size.um, 0.65, 1e-6);
  EXPECT_EQ(raw.pixel_size.source, "PNG pHYs");
  std::filesystem::remove_all(dir);
}

TEST(LabelTiff, Unsigned32BitLabelsAndThePixelSizeReadBack) {
  cv::Mat labels(5, 7, CV_32SC1, cv::Scalar(0));
  labels.at<int32_t>(1, 2) = 70000;
  labels.at<int32_t>(4, 6) = 2147483647;
  auto dir = nucseg::testing::fresh_dir("label-tiff");
  nucseg::testing::write_bytes(dir / "l.tiff", nucseg::io::encode_label_tiff(labels, 0.25, "l.tiff"));
  auto raw = nucseg::io::read_raw_image(dir / "l.tiff", nucseg::io::PixelRange::labels);
  ASSERT_EQ(raw.pixels.type(), CV_32SC1);
  EXPECT_EQ(cv::countNonZero(raw.pixels != labels), 0);
  EXPECT_NEAR(raw.pixel_size.um, 0.25, 1e-7);
  EXPECT_NE(raw.pixel_size.source.find("ImageJ unit micron"), std::string::npos) << raw.pixel_size.source;

  cv::Mat small(3, 3, CV_16UC1, cv::Scalar(65535));
  nucseg::testing::write_bytes(dir / "s.tiff", nucseg::io::encode_label_tiff(small, 0.0, "s.tiff"));
  auto back = nucseg::io::read_raw_image(dir / "s.tiff", nucseg::io::PixelRange::labels);
  EXPECT_EQ(back.pixels.type(), CV_16UC1);
  EXPECT_EQ(back.pixels.at<uint16_t>(2, 2), 65535);
  EXPECT_FALSE(back.pixel_size.known());
  std::filesystem::remove_all(dir);
}

}  // namespace
