#include "nucseg/io/imagej_roi.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

// Offsets of RoiDecoder.java.
constexpr size_t kHeaderSize = 64, kHeader2Size = 64;
constexpr int kVersion = 227;
constexpr size_t kVersionAt = 4, kTypeAt = 6, kTopAt = 8, kLeftAt = 10, kBottomAt = 12, kRightAt = 14, kCountAt = 16,
                 kHeader2At = 60;
constexpr size_t kNameOffsetAt = 16, kNameLengthAt = 20;  // in the second header

void put16(std::string& b, size_t at, int v) {
  b[at] = static_cast<char>((v >> 8) & 0xff);
  b[at + 1] = static_cast<char>(v & 0xff);
}
void put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

}  // namespace

std::string encode_polygon_roi(const std::vector<cv::Point>& vertices, const std::string& name) {
  if (vertices.size() < 3 || vertices.size() > 0xffff)
    throw_runtime("ImageJ ROI " + name + ": " + std::to_string(vertices.size()) + " vertices (3 to 65535 are stored)");
  int left = vertices[0].x, right = left, top = vertices[0].y, bottom = top;
  for (const auto& p : vertices) {
    left = std::min(left, p.x);
    right = std::max(right, p.x);
    top = std::min(top, p.y);
    bottom = std::max(bottom, p.y);
  }
  if (left < 0 || top < 0 || right > kMaxRoiCoordinate || bottom > kMaxRoiCoordinate)
    throw_runtime("ImageJ ROI " + name + ": coordinates outside 0.." + std::to_string(kMaxRoiCoordinate));
  const size_t n = vertices.size();
  const size_t header2 = kHeaderSize + 4 * n;
  std::string b(header2 + kHeader2Size + 2 * name.size(), '\0');
  b.replace(0, 4, "Iout");
  put16(b, kVersionAt, kVersion);
  b[kTypeAt] = 0;  // polygon
  put16(b, kTopAt, top);
  put16(b, kLeftAt, left);
  put16(b, kBottomAt, bottom);
  put16(b, kRightAt, right);
  put16(b, kCountAt, static_cast<int>(n));
  put32(b, kHeader2At, static_cast<uint32_t>(header2));
  for (size_t i = 0; i < n; ++i) {
    put16(b, kHeaderSize + 2 * i, vertices[i].x - left);
    put16(b, kHeaderSize + 2 * n + 2 * i, vertices[i].y - top);
  }
  // The name as UTF-16 code units: nucseg's names are ASCII, one unit per byte.
  put32(b, header2 + kNameOffsetAt, static_cast<uint32_t>(header2 + kHeader2Size));
  put32(b, header2 + kNameLengthAt, static_cast<uint32_t>(name.size()));
  for (size_t i = 0; i < name.size(); ++i) put16(b, header2 + kHeader2Size + 2 * i, static_cast<unsigned char>(name[i]));
  return b;
}

}  // namespace nucseg::io
