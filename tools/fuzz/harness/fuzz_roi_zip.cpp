// nucseg has no ImageJ ROI or ZIP *reader*: infer.export_rois only writes <id>.zip files of
// polygon ROIs (io/imagej_roi.cpp, io/zip_writer.cpp) for Fiji's ROI Manager. This harness
// fuzzes that writer instead: polygons and entry names from the input go through
// encode_polygon_roi and ZipWriter, and an independent reader here (after ImageJ's
// RoiDecoder.java and APPNOTE 4.3) checks that every vertex, name and entry reads back.
// Input: a sequence of records [name length n (1 byte)] [n name bytes] [vertex count k
// (1 byte)] [k x (x, y) as big-endian uint16].
#include <vector>

#include "fuzz_common.hpp"
#include "nucseg/io/imagej_roi.hpp"
#include "nucseg/io/zip_writer.hpp"

using nucseg::ErrorKind;

namespace {

struct Reader {
  const uint8_t* p;
  size_t n, at = 0;
  bool has(size_t k) const { return at + k <= n; }
  unsigned u8() { return p[at++]; }
  unsigned u16() { unsigned v = (unsigned{p[at]} << 8) | p[at + 1]; at += 2; return v; }
};

unsigned be16(const std::string& b, size_t at) {
  return (static_cast<unsigned char>(b.at(at)) << 8) | static_cast<unsigned char>(b.at(at + 1));
}
uint32_t be32(const std::string& b, size_t at) { return (uint32_t{be16(b, at)} << 16) | be16(b, at + 2); }
uint32_t le(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b.at(at + static_cast<size_t>(i)));
  return v;
}

// RoiDecoder.getShort: signed 16-bit, except that values below -5000 are taken as unsigned
// (so 0 .. 60535 read back as written).
int get_short(const std::string& b, size_t at) {
  int n = static_cast<int16_t>(be16(b, at));
  return n < -5000 ? static_cast<int>(be16(b, at)) : n;
}

// What ImageJ's RoiDecoder (ij/io/RoiDecoder.java) reads back from a polygon ROI: header fields
// and relative coordinates through getShort, negative coordinates clamped to 0.
void check_roi(const std::string& roi, const std::vector<cv::Point>& v, const std::string& name) {
  if (roi.compare(0, 4, "Iout") != 0 || roi[6] != 0) nucseg_fuzz::wrong("ROI magic/type");
  const int top = get_short(roi, 8), left = get_short(roi, 10);
  const int count = get_short(roi, 16);
  if (count < 0 || static_cast<size_t>(count) != v.size()) nucseg_fuzz::wrong("ROI vertex count");
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) {
    int dx = get_short(roi, 64 + 2 * i), dy = get_short(roi, 64 + 2 * n + 2 * i);
    if (dx < 0) dx = 0;
    if (dy < 0) dy = 0;
    if (left + dx != v[i].x || top + dy != v[i].y)
      nucseg_fuzz::wrong("ROI vertex " + std::to_string(i) + " (" + std::to_string(v[i].x) + ", " + std::to_string(v[i].y) +
                         ") reads back as (" + std::to_string(left + dx) + ", " + std::to_string(top + dy) + ")");
  }
  const size_t h2 = be32(roi, 60);
  const size_t name_at = be32(roi, h2 + 16), name_len = be32(roi, h2 + 20);
  if (name_len != name.size()) nucseg_fuzz::wrong("ROI name length");
  for (size_t i = 0; i < name_len; ++i)
    if (be16(roi, name_at + 2 * i) != static_cast<unsigned char>(name[i])) nucseg_fuzz::wrong("ROI name");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  nucseg::io::ZipWriter zip;
  std::vector<std::pair<std::string, std::string>> entries;
  while (in.has(2)) {
    const size_t name_len = in.u8();
    if (!in.has(name_len + 1)) break;
    std::string name(reinterpret_cast<const char*>(data + in.at), name_len);
    in.at += name_len;
    const size_t k = in.u8();
    std::vector<cv::Point> vertices;
    for (size_t i = 0; i < k && in.has(4); ++i) {
      int x = static_cast<int>(in.u16());
      vertices.emplace_back(x, static_cast<int>(in.u16()));
    }
    std::string roi;
    if (!nucseg_fuzz::refuses_cleanly([&] { roi = nucseg::io::encode_polygon_roi(vertices, name); }, {ErrorKind::runtime}))
      continue;
    check_roi(roi, vertices, name);
    if (nucseg_fuzz::refuses_cleanly([&] { zip.add(name, roi); }, {ErrorKind::runtime})) entries.emplace_back(name, roi);
  }
  const std::string z = zip.finish();
  // The end record, the central directory, each local header and the stored bytes.
  if (z.size() < 22 || le(z, z.size() - 22, 4) != 0x06054b50u) nucseg_fuzz::wrong("no end record");
  const size_t count = le(z, z.size() - 22 + 10, 2);
  if (count != entries.size()) nucseg_fuzz::wrong("entry count");
  size_t dir = le(z, z.size() - 22 + 16, 4);
  for (const auto& [name, bytes] : entries) {
    if (le(z, dir, 4) != 0x02014b50u) nucseg_fuzz::wrong("central header signature");
    const size_t name_len = le(z, dir + 28, 2), local = le(z, dir + 42, 4);
    if (z.compare(dir + 46, name_len, name) != 0 || name_len != name.size()) nucseg_fuzz::wrong("central name");
    if (le(z, dir + 16, 4) != nucseg::io::crc32(bytes.data(), bytes.size())) nucseg_fuzz::wrong("crc");
    if (le(z, local, 4) != 0x04034b50u) nucseg_fuzz::wrong("local header signature");
    const size_t lname = le(z, local + 26, 2), extra = le(z, local + 28, 2), stored = le(z, local + 18, 4);
    if (z.compare(local + 30 + lname + extra, stored, bytes) != 0 || stored != bytes.size()) nucseg_fuzz::wrong("entry bytes");
    dir += 46 + name_len;
  }
  return 0;
}
