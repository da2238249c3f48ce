// How many bytes an image file's headers say its decoded pixels take (the sum over a TIFF's
// pages, strips/tiles included), read without decoding: lets a campaign skip the decompression
// bombs already reported (NUCSEG_FUZZ_MAX_DECLARED_MB) and fuzz past them. nucseg now refuses
// such headers itself (io::check_declared_size, 2^28 pixels); this filter is lower, for speed.
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <tiffio.h>

namespace nucseg_fuzz {

namespace tiff_mem {
struct Buf {
  const uint8_t* d;
  uint64_t n, pos;
};
inline tmsize_t rd(thandle_t h, void* out, tmsize_t k) {
  auto* b = static_cast<Buf*>(h);
  if (k <= 0 || b->pos >= b->n) return 0;
  uint64_t m = std::min<uint64_t>(static_cast<uint64_t>(k), b->n - b->pos);
  std::memcpy(out, b->d + b->pos, m);
  b->pos += m;
  return static_cast<tmsize_t>(m);
}
inline tmsize_t wr(thandle_t, void*, tmsize_t) { return -1; }
inline toff_t sk(thandle_t h, toff_t off, int whence) {
  auto* b = static_cast<Buf*>(h);
  b->pos = (whence == SEEK_CUR ? b->pos : whence == SEEK_END ? b->n : 0) + off;
  return b->pos;
}
inline int cl(thandle_t) { return 0; }
inline toff_t sz(thandle_t h) { return static_cast<Buf*>(h)->n; }
inline int quiet(TIFF*, void*, const char*, const char*, va_list) { return 1; }
}  // namespace tiff_mem

inline double declared_tiff_bytes(const uint8_t* data, size_t size) {
  using namespace tiff_mem;
  Buf buf{data, size, 0};
  TIFFOpenOptions* o = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(o, quiet, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(o, quiet, nullptr);
  TIFF* t = TIFFClientOpenExt("declared", "rm", &buf, rd, wr, sk, cl, sz, nullptr, nullptr, o);
  TIFFOpenOptionsFree(o);
  if (!t) return 0;
  double total = 0, worst = 0;
  for (int dir = 0; dir < 2000; ++dir) {
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bits = 8;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
    // The decoded page (or the 4-byte RGBA raster of the expansion), and one strip/tile buffer.
    const double page = static_cast<double>(w) * h * std::max(4.0, spp * std::max(1.0, bits / 8.0));
    const double block = TIFFIsTiled(t) ? static_cast<double>(TIFFTileSize64(t)) : static_cast<double>(TIFFStripSize64(t));
    total += page;
    worst = std::max(worst, block);
    if (!TIFFReadDirectory(t)) break;
  }
  TIFFClose(t);
  return std::max(total, worst);
}

inline double declared_png_jpeg_bytes(const uint8_t* d, size_t n) {
  if (n >= 24 && std::memcmp(d, "\x89PNG", 4) == 0) {
    const double w = (uint32_t{d[16]} << 24) | (uint32_t{d[17]} << 16) | (uint32_t{d[18]} << 8) | d[19];
    const double h = (uint32_t{d[20]} << 24) | (uint32_t{d[21]} << 16) | (uint32_t{d[22]} << 8) | d[23];
    return w * h * 8;
  }
  if (n >= 4 && d[0] == 0xff && d[1] == 0xd8) {
    for (size_t i = 2; i + 9 < n; ++i)  // any SOFn marker
      if (d[i] == 0xff && d[i + 1] >= 0xc0 && d[i + 1] <= 0xcf && d[i + 1] != 0xc4 && d[i + 1] != 0xc8 && d[i + 1] != 0xcc)
        return static_cast<double>((d[i + 5] << 8) | d[i + 6]) * ((d[i + 7] << 8) | d[i + 8]) * 4;
  }
  return 0;
}

// True when NUCSEG_FUZZ_MAX_DECLARED_MB is set and the input declares more than that.
inline bool declared_too_large(const uint8_t* data, size_t size) {
  static const double limit = [] {
    const char* v = std::getenv("NUCSEG_FUZZ_MAX_DECLARED_MB");
    return v ? std::atof(v) * 1048576.0 : 0.0;
  }();
  if (limit <= 0) return false;
  const bool tiff = size >= 4 && (data[0] == 'I' || data[0] == 'M') && data[1] == data[0];
  const double bytes = tiff ? declared_tiff_bytes(data, size) : declared_png_jpeg_bytes(data, size);
  return bytes > limit;
}

}  // namespace nucseg_fuzz
