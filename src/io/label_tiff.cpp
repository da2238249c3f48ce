#include "nucseg/io/label_tiff.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include <tiffio.h>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

// libtiff writes into a growing buffer (it seeks back to patch offsets, and may read).
struct Buffer {
  std::string bytes;
  uint64_t pos = 0;
};

tmsize_t read_proc(thandle_t h, void* buf, tmsize_t n) {
  auto* b = static_cast<Buffer*>(h);
  if (n <= 0 || b->pos >= b->bytes.size()) return 0;
  const uint64_t k = std::min<uint64_t>(static_cast<uint64_t>(n), b->bytes.size() - b->pos);
  std::memcpy(buf, b->bytes.data() + b->pos, k);
  b->pos += k;
  return static_cast<tmsize_t>(k);
}
tmsize_t write_proc(thandle_t h, void* buf, tmsize_t n) {
  auto* b = static_cast<Buffer*>(h);
  if (n < 0) return -1;
  const uint64_t end = b->pos + static_cast<uint64_t>(n);
  if (end > b->bytes.size()) b->bytes.resize(end);
  std::memcpy(&b->bytes[b->pos], buf, static_cast<size_t>(n));
  b->pos = end;
  return n;
}
toff_t seek_proc(thandle_t h, toff_t off, int whence) {
  auto* b = static_cast<Buffer*>(h);
  const uint64_t base = whence == SEEK_CUR ? b->pos : whence == SEEK_END ? b->bytes.size() : 0;
  b->pos = base + off;
  return b->pos;
}
int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t h) { return static_cast<Buffer*>(h)->bytes.size(); }
int map_proc(thandle_t, void**, toff_t*) { return 0; }
void unmap_proc(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* first = static_cast<std::string*>(user);
  if (first->empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    *first = (module ? std::string(module) + ": " : std::string()) + buf;
  }
  return 1;
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace

std::string encode_label_tiff(const cv::Mat& labels, double pixel_size_um, const std::string& name) {
  if (labels.channels() != 1 || (labels.depth() != CV_16U && labels.depth() != CV_32S))
    throw_runtime("label TIFF: expected a CV_16UC1 or CV_32SC1 image", name);
  std::string error;
  auto fail = [&](const std::string& what) {
    throw_runtime("label TIFF: " + what + (error.empty() ? "" : " (libtiff: " + error + ")"), name);
  };
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  if (!options) fail("cannot allocate libtiff options");
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), on_error, &error);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), on_warning, nullptr);
  Buffer buffer;
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFClientOpenExt(name.c_str(), "w", &buffer, read_proc, write_proc, seek_proc,
                                                               close_proc, size_proc, map_proc, unmap_proc, options.get()),
                                             TIFFClose);
  if (!tif) fail("cannot start the file");
  const uint16_t bits = labels.depth() == CV_16U ? 16 : 32;
  const uint32_t row_bytes = static_cast<uint32_t>(labels.cols) * (bits / 8);
  const uint32_t rows_per_strip = std::max<uint32_t>(1, (64u << 10) / std::max<uint32_t>(row_bytes, 1));
  bool ok = TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(labels.cols)) &&
            TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(labels.rows)) &&
            TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, bits) && TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, 1) &&
            TIFFSetField(tif.get(), TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT) &&
            TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
            TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) &&
            TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, rows_per_strip);
  if (ok && pixel_size_um > 0) {
    const float per_micron = static_cast<float>(1.0 / pixel_size_um);
    ok = TIFFSetField(tif.get(), TIFFTAG_XRESOLUTION, per_micron) && TIFFSetField(tif.get(), TIFFTAG_YRESOLUTION, per_micron) &&
         TIFFSetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, RESUNIT_NONE) &&
         TIFFSetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, "ImageJ=1.11a\nunit=micron\n");
  }
  if (!ok) fail("cannot set the tags");
  for (int r = 0; r < labels.rows; ++r)
    if (TIFFWriteScanline(tif.get(), const_cast<uchar*>(labels.ptr(r)), static_cast<uint32_t>(r), 0) < 0)
      fail("cannot write row " + std::to_string(r));
  if (!TIFFWriteDirectory(tif.get())) fail("cannot write the directory");
  tif.reset();
  if (!error.empty()) fail("write failed");
  return std::move(buffer.bytes);
}

}  // namespace nucseg::io
