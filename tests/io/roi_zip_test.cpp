// The ZIP container and ImageJ ROI bytes, checked field by field against the formats' specs
// (Python's zipfile and an independent ROI reader check them again in infer_results_test).
#include <gtest/gtest.h>

#include <cstring>

#include "nucseg/core/error.hpp"
#include "nucseg/io/imagej_roi.hpp"
#include "nucseg/io/zip_writer.hpp"

namespace {

uint32_t le32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  return v;
}
int be16(const std::string& b, size_t at) {
  return (static_cast<unsigned char>(b[at]) << 8) | static_cast<unsigned char>(b[at + 1]);
}

TEST(Zip, Crc32OfTheCheckString) {
  EXPECT_EQ(nucseg::io::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(nucseg::io::crc32("", 0), 0u);
}

TEST(Zip, StoredEntriesAndEndRecord) {
  nucseg::io::ZipWriter zip;
  zip.add("a.roi", "hello");
  zip.add("b.roi", "");
  const std::string z = zip.finish();
  EXPECT_EQ(le32(z, 0), 0x04034b50u);
  EXPECT_EQ(le32(z, 14), nucseg::io::crc32("hello", 5));
  EXPECT_EQ(le32(z, 18), 5u);  // compressed size: stored
  EXPECT_EQ(z.substr(30, 5), "a.roi");
  EXPECT_EQ(z.substr(35, 5), "hello");
  const size_t end = z.size() - 22;
  EXPECT_EQ(le32(z, end), 0x06054b50u);
  EXPECT_EQ(z[end + 10], 2);  // entries
  const uint32_t directory = le32(z, end + 16);
  EXPECT_EQ(le32(z, directory), 0x02014b50u);
  EXPECT_EQ(zip.entries(), 0u);  // finish() empties the writer
}

TEST(Zip, MoreThan65535EntriesGetZip64EndRecords) {
  nucseg::io::ZipWriter zip;
  for (int i = 0; i < 70000; ++i) zip.add(std::to_string(i), "");
  const std::string z = zip.finish();
  const size_t end = z.size() - 22;
  EXPECT_EQ(le32(z, end), 0x06054b50u);
  EXPECT_EQ(be16(z, end + 10), 0xffff);
  EXPECT_EQ(le32(z, end - 20), 0x07064b50u);  // the locator
  const uint32_t record = le32(z, end - 12);
  EXPECT_EQ(le32(z, record), 0x06064b50u);
  EXPECT_EQ(le32(z, record + 32), 70000u);  // total entries (low half of 8 bytes)
}

TEST(ImageJRoi, PolygonHeaderCoordinatesAndName) {
  const std::vector<cv::Point> square = {{10, 20}, {13, 20}, {13, 22}, {10, 22}};
  const std::string roi = nucseg::io::encode_polygon_roi(square, "0007");
  ASSERT_EQ(roi.size(), 64u + 4 * 4 + 64 + 2 * 4);
  EXPECT_EQ(roi.substr(0, 4), "Iout");
  EXPECT_EQ(be16(roi, 4), 227);
  EXPECT_EQ(roi[6], 0);           // polygon
  EXPECT_EQ(be16(roi, 8), 20);    // top
  EXPECT_EQ(be16(roi, 10), 10);   // left
  EXPECT_EQ(be16(roi, 12), 22);   // bottom
  EXPECT_EQ(be16(roi, 14), 13);   // right
  EXPECT_EQ(be16(roi, 16), 4);    // n
  EXPECT_EQ(be16(roi, 64 + 2), 3);      // x[1] - left
  EXPECT_EQ(be16(roi, 64 + 8 + 4), 2);  // y[2] - top
  const size_t header2 = (static_cast<unsigned char>(roi[62]) << 8) | static_cast<unsigned char>(roi[63]);
  EXPECT_EQ(header2, 64u + 16);
  EXPECT_EQ(be16(roi, header2 + 22), 4);  // name length (low half)
  EXPECT_EQ(be16(roi, header2 + 64 + 6), '7');
}

TEST(ImageJRoi, RefusesWhatTheFormatCannotHold) {
  EXPECT_THROW(nucseg::io::encode_polygon_roi({{0, 0}, {1, 0}}, "x"), nucseg::Error);
  EXPECT_THROW(nucseg::io::encode_polygon_roi({{0, 0}, {70000, 0}, {70000, 1}}, "x"), nucseg::Error);
}

}  // namespace
