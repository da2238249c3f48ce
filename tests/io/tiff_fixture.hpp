// TIFF fixtures written with libtiff (OpenCV writes only 1/3/4-sample single pages), plus a
// hand-assembled minimal TIFF whose directory precedes its pixels (libtiff writes it last).
#pragma once

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <tiffio.h>

#include <opencv2/core.hpp>

namespace nucseg::testing {

struct TiffPage {
  cv::Mat pixels;          // CV_8UC(n), CV_16UC(n), CV_32SC(n) or CV_32FC(n), channels in file order
  bool separate = false;   // PLANARCONFIG_SEPARATE
  int tile = 0;            // tile side (a multiple of 16); 0: strips of 3 rows
  bool alpha = false;      // declare the last sample as unassociated alpha
  bool reduced = false;    // NewSubfileType = reduced-resolution image (a thumbnail)
  bool deflate = false;    // compress with deflate (else none)
};

namespace detail {

inline void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("tiff fixture: " + what);
}

inline void write_page(TIFF* tif, const TiffPage& page) {
  const cv::Mat& m = page.pixels;
  const int n = m.channels();
  const int bits = static_cast<int>(m.elemSize1() * 8);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(m.cols));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(m.rows));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(n));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(bits));
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT,
               m.depth() == CV_32S ? SAMPLEFORMAT_INT : m.depth() == CV_32F ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, n == 3 || (n == 4 && page.alpha) ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, page.separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, page.deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE);
  if (page.reduced) TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
  const int photometric_samples = n == 3 || (n == 4 && page.alpha) ? 3 : 1;
  if (n > photometric_samples) {
    std::vector<uint16_t> extra(static_cast<size_t>(n - photometric_samples), EXTRASAMPLE_UNSPECIFIED);
    if (page.alpha) extra.back() = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, static_cast<uint16_t>(extra.size()), extra.data());
  }
  const size_t es = m.elemSize1();
  const int planes = page.separate ? n : 1;
  const int per_pixel = page.separate ? 1 : n;
  // One sample plane (or all samples) of rows [y0, y0+h) x cols [x0, x0+w) into a w-wide buffer.
  auto gather = [&](int plane, int y0, int h, int x0, int w, int buf_w) {
    std::vector<unsigned char> buf(static_cast<size_t>(buf_w) * h * per_pixel * es, 0);
    for (int y = 0; y < h && y0 + y < m.rows; ++y)
      for (int x = 0; x < w && x0 + x < m.cols; ++x)
        for (int c = 0; c < per_pixel; ++c) {
          int src_c = page.separate ? plane : c;
          std::memcpy(&buf[((static_cast<size_t>(y) * buf_w + x) * per_pixel + c) * es],
                      m.ptr<unsigned char>(y0 + y) + (static_cast<size_t>(x0 + x) * n + src_c) * es, es);
        }
    return buf;
  };
  if (page.tile > 0) {
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, static_cast<uint32_t>(page.tile));
    TIFFSetField(tif, TIFFTAG_TILELENGTH, static_cast<uint32_t>(page.tile));
    for (int p = 0; p < planes; ++p)
      for (int y = 0; y < m.rows; y += page.tile)
        for (int x = 0; x < m.cols; x += page.tile) {
          auto buf = gather(p, y, page.tile, x, page.tile, page.tile);
          check(TIFFWriteTile(tif, buf.data(), static_cast<uint32_t>(x), static_cast<uint32_t>(y), 0,
                              static_cast<uint16_t>(p)) >= 0,
                "TIFFWriteTile");
        }
  } else {
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 3u);
    for (int p = 0; p < planes; ++p)
      for (int y = 0; y < m.rows; ++y) {
        auto buf = gather(p, y, 1, 0, m.cols, m.cols);
        check(TIFFWriteScanline(tif, buf.data(), static_cast<uint32_t>(y), static_cast<uint16_t>(p)) >= 0,
              "TIFFWriteScanline");
      }
  }
  check(TIFFWriteDirectory(tif) != 0, "TIFFWriteDirectory");
}

}  // namespace detail

// `mode` "w" writes the machine's byte order, "wb" big-endian, "w8" BigTIFF.
inline void write_tiff(const std::filesystem::path& path, const std::vector<TiffPage>& pages, const char* mode = "w") {
  std::filesystem::create_directories(path.parent_path());
  TIFF* tif = TIFFOpen(path.c_str(), mode);
  detail::check(tif != nullptr, "cannot create " + path.string());
  for (const auto& page : pages) detail::write_page(tif, page);
  TIFFClose(tif);
}

// A classic little-endian TIFF with its one directory at byte 8 and the 8-bit gray pixels of
// `gray` (one uncompressed strip) after it: cutting the file cuts pixels, not the directory.
inline std::string directory_first_tiff(const cv::Mat& gray) {
  const uint32_t w = static_cast<uint32_t>(gray.cols), h = static_cast<uint32_t>(gray.rows);
  struct Entry {
    uint16_t tag, type;
    uint32_t count, value;
  };
  const uint16_t kShort = 3, kLong = 4;
  const uint32_t entries = 9, data_at = 8 + 2 + entries * 12 + 4;
  std::vector<Entry> e = {{256, kLong, 1, w},       {257, kLong, 1, h},     {258, kShort, 1, 8},
                          {259, kShort, 1, 1},      {262, kShort, 1, 1},    {273, kLong, 1, data_at},
                          {277, kShort, 1, 1},      {278, kLong, 1, h},     {279, kLong, 1, w * h}};
  std::string out("II*\0", 4);
  auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(8, 4);
  put(entries, 2);
  for (const auto& x : e) {
    put(x.tag, 2);
    put(x.type, 2);
    put(x.count, 4);
    put(x.value, 4);  // SHORT values sit in the low bytes (little-endian)
  }
  put(0, 4);  // no next directory
  for (int y = 0; y < gray.rows; ++y) out.append(gray.ptr<char>(y), static_cast<size_t>(gray.cols));
  return out;
}

}  // namespace nucseg::testing
