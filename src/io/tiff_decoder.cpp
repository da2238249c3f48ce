#include "tiff_decoder.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include <tiffio.h>

#include "nucseg/core/error.hpp"
#include "nucseg/io/image.hpp"

namespace nucseg::io::detail {
namespace {

// libtiff reads from the bytes already in memory (they were needed to sniff the format).
struct Stream {
  const unsigned char* data = nullptr;
  uint64_t size = 0;
  uint64_t pos = 0;
};

tmsize_t read_proc(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<Stream*>(h);
  if (n <= 0 || s->pos >= s->size) return 0;
  uint64_t k = std::min<uint64_t>(static_cast<uint64_t>(n), s->size - s->pos);
  std::memcpy(buf, s->data + s->pos, k);
  s->pos += k;
  return static_cast<tmsize_t>(k);
}
tmsize_t write_proc(thandle_t, void*, tmsize_t) { return -1; }
toff_t seek_proc(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<Stream*>(h);
  uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->size : 0;
  s->pos = base + off;
  return s->pos;
}
int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t h) { return static_cast<Stream*>(h)->size; }
int map_proc(thandle_t h, void** base, toff_t* size) {
  auto* s = static_cast<Stream*>(h);
  *base = const_cast<unsigned char*>(s->data);
  *size = s->size;
  return 1;
}
void unmap_proc(thandle_t, void*, toff_t) {}

// libtiff's messages for this one handle (its default handlers print to stderr from any thread).
struct Messages {
  int errors = 0;
  std::string first;
};
int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* m = static_cast<Messages*>(user);
  if (m->errors++ == 0) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    m->first = (module ? std::string(module) + ": " : std::string()) + buf;
  }
  return 1;  // handled: the global handler stays quiet
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct Context {
  const std::string& file;
  uint64_t file_size;
  Messages* messages;
  bool allow_32bit;

  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = what;
    if (!messages->first.empty()) msg += " (libtiff: " + messages->first + ")";
    throw_data(file, msg);
  }
};

uint64_t read_le_or_be(const unsigned char* p, int n, bool little) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[little ? i : n - 1 - i]) << (8 * i);
  return v;
}

// libtiff writes the directory after the pixel data, so a cut file usually loses it first.
void check_first_directory(const std::vector<unsigned char>& b, const Context& ctx) {
  bool little = b[0] == 'I';
  bool big = read_le_or_be(b.data() + 2, 2, little) == 43;
  size_t header = big ? 16 : 8;
  if (b.size() < header) ctx.fail("truncated TIFF: the " + std::to_string(b.size()) + "-byte file ends inside its header");
  uint64_t first = big ? read_le_or_be(b.data() + 8, 8, little) : read_le_or_be(b.data() + 4, 4, little);
  if (first + 2 > b.size())
    ctx.fail("truncated TIFF: the first directory starts at byte " + std::to_string(first) + ", past the end of the " +
             std::to_string(b.size()) + "-byte file");
}

void check_striles(TIFF* tif, int page, const Context& ctx) {
  bool tiled = TIFFIsTiled(tif) != 0;
  uint32_t count = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  for (uint32_t i = 0; i < count; ++i) {
    int err = 0;
    uint64_t off = TIFFGetStrileOffsetWithErr(tif, i, &err);
    uint64_t len = err ? 0 : TIFFGetStrileByteCountWithErr(tif, i, &err);
    if (err) ctx.fail("corrupt TIFF: page " + std::to_string(page) + " has no offset for " + (tiled ? "tile " : "strip ") +
                      std::to_string(i));
    if (off + len > ctx.file_size)
      ctx.fail("truncated TIFF: page " + std::to_string(page) + (tiled ? " tile " : " strip ") + std::to_string(i) +
               " ends at byte " + std::to_string(off + len) + ", past the end of the " + std::to_string(ctx.file_size) +
               "-byte file");
  }
}

struct Layout {
  uint32_t width = 0, height = 0;
  uint16_t samples = 1, bits = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photometric = 0;
  bool alpha = false;
};

Layout read_layout(TIFF* tif, int page, const Context& ctx) {
  Layout l;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height))
    ctx.fail("corrupt TIFF: page " + std::to_string(page) + " has no image size");
  if (l.width == 0 || l.height == 0 || l.width > (1u << 30) || l.height > (1u << 30))
    ctx.fail("corrupt TIFF: page " + std::to_string(page) + " has size " + std::to_string(l.width) + "x" +
             std::to_string(l.height));
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &l.format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric))
    l.photometric = l.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  uint16_t extra_count = 0;
  uint16_t* extra = nullptr;
  if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count > 0)
    l.alpha = extra[extra_count - 1] == EXTRASAMPLE_ASSOCALPHA || extra[extra_count - 1] == EXTRASAMPLE_UNASSALPHA;
  if (l.samples == 0 || l.samples > CV_CN_MAX)
    ctx.fail("unsupported TIFF: page " + std::to_string(page) + " has " + std::to_string(l.samples) + " samples per pixel");
  if (l.format == SAMPLEFORMAT_IEEEFP && l.bits != 32)
    ctx.fail("unsupported pixel type: " + std::to_string(l.bits) + "-bit floating-point TIFF samples (of floating-point "
             "images only 32-bit ones are read)");
  if (l.format == SAMPLEFORMAT_IEEEFP && ctx.allow_32bit)
    ctx.fail("unsupported pixel type: floating-point samples in a label image (labels are integers)");
  return l;
}

// Samples libtiff hands over as they are (else they go through its RGBA expansion).
bool native(const Layout& l) {
  bool photometric = l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_MINISWHITE ||
                     l.photometric == PHOTOMETRIC_RGB;
  return photometric && (l.bits == 8 || l.bits == 16 || l.bits == 32);
}

int cv_depth(const Layout& l, int page, const Context& ctx) {
  if (l.format == SAMPLEFORMAT_IEEEFP) return CV_32F;  // 32-bit: read_layout refuses the others
  if (l.bits == 32) {
    if (!ctx.allow_32bit) ctx.fail("unsupported pixel type: 32-bit samples (read only as label masks)");
    return CV_32S;
  }
  if (l.format == SAMPLEFORMAT_INT)
    ctx.fail("unsupported pixel type: signed " + std::to_string(l.bits) + "-bit TIFF samples");
  return l.bits == 8 ? CV_8U : CV_16U;
}

// Copies `rows` x `cols` pixels of one decoded strip or tile (rows of `src_row` elements) to
// `out` at (row0, col0): all samples when `plane` < 0 (contiguous), else sample `plane` only.
template <class T>
void copy_block(const unsigned char* src, size_t src_row, cv::Mat& out, int row0, int col0, int rows, int cols,
                int plane) {
  const int n = out.channels();
  for (int r = 0; r < rows; ++r) {
    const T* s = reinterpret_cast<const T*>(src) + static_cast<size_t>(r) * src_row;
    T* d = out.ptr<T>(row0 + r) + static_cast<size_t>(col0) * n;
    if (plane < 0) {
      std::memcpy(d, s, sizeof(T) * static_cast<size_t>(cols) * n);
    } else {
      for (int c = 0; c < cols; ++c) d[static_cast<size_t>(c) * n + plane] = s[c];
    }
  }
}

void copy_any(int depth, const unsigned char* src, size_t src_row, cv::Mat& out, int row0, int col0, int rows, int cols,
              int plane) {
  if (depth == CV_8U) copy_block<uint8_t>(src, src_row, out, row0, col0, rows, cols, plane);
  else if (depth == CV_16U) copy_block<uint16_t>(src, src_row, out, row0, col0, rows, cols, plane);
  else if (depth == CV_32F) copy_block<float>(src, src_row, out, row0, col0, rows, cols, plane);
  else copy_block<int32_t>(src, src_row, out, row0, col0, rows, cols, plane);
}

struct Planes {
  int depth;
  bool separate;      // one sample per strip/tile (PLANARCONFIG_SEPARATE)
  int count;          // planes to read: the samples when separate, else 1
  size_t per_pixel;   // samples per pixel within one strip/tile
};

void read_tiles(TIFF* tif, const Layout& l, const Planes& pl, cv::Mat& out, const std::string& where, const Context& ctx) {
  uint32_t tw = 0, th = 0;
  if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) || !tw || !th)
    ctx.fail("corrupt TIFF: " + where + " has no tile size");
  // A tile may be larger than a small image (256x256 tiles on a 100x100 image are common) but
  // neither side needs more than 1024 pixels or the image's side rounded up to 16 (the TIFF
  // tile granule): a 16x16 image with a 65536x65536 tile would zero-fill a 4 GB buffer before
  // any data is read.
  auto side_limit = [](uint32_t side) { return std::max<uint32_t>(1024, (side + 15) / 16 * 16); };
  if (tw > side_limit(l.width) || th > side_limit(l.height))
    ctx.fail("corrupt TIFF: " + where + " has " + std::to_string(tw) + "x" + std::to_string(th) + " tiles for a " +
             std::to_string(l.width) + "x" + std::to_string(l.height) + " image");
  std::vector<unsigned char> buf(static_cast<size_t>(TIFFTileSize(tif)));
  for (int p = 0; p < pl.count; ++p)
    for (uint32_t y = 0; y < l.height; y += th)
      for (uint32_t x = 0; x < l.width; x += tw) {
        auto tile = TIFFComputeTile(tif, x, y, 0, static_cast<uint16_t>(p));
        if (TIFFReadEncodedTile(tif, tile, buf.data(), static_cast<tmsize_t>(buf.size())) < 0)
          ctx.fail("corrupt TIFF: " + where + " tile " + std::to_string(tile) + " cannot be decoded");
        int rows = static_cast<int>(std::min(th, l.height - y)), cols = static_cast<int>(std::min(tw, l.width - x));
        copy_any(pl.depth, buf.data(), tw * pl.per_pixel, out, static_cast<int>(y), static_cast<int>(x), rows, cols,
                 pl.separate ? p : -1);
      }
}

void read_strips(TIFF* tif, const Layout& l, const Planes& pl, cv::Mat& out, const std::string& where,
                 const Context& ctx) {
  uint32_t rps = l.height;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
  rps = std::max<uint32_t>(1, std::min(rps, l.height));
  // Interleaved rows decode straight into the image; planes go through a strip buffer.
  const bool direct = !pl.separate && out.isContinuous();
  std::vector<unsigned char> buf(direct ? 0 : static_cast<size_t>(TIFFStripSize(tif)));
  const size_t row_bytes = static_cast<size_t>(l.width) * pl.per_pixel * (l.bits / 8);
  for (int p = 0; p < pl.count; ++p)
    for (uint32_t y = 0; y < l.height; y += rps) {
      auto strip = TIFFComputeStrip(tif, y, static_cast<uint16_t>(p));
      int rows = static_cast<int>(std::min(rps, l.height - y));
      const size_t need = row_bytes * static_cast<size_t>(rows);
      unsigned char* dst = direct ? out.ptr<unsigned char>(static_cast<int>(y)) : buf.data();
      tmsize_t got = TIFFReadEncodedStrip(tif, strip, dst, static_cast<tmsize_t>(direct ? need : buf.size()));
      if (got < 0 || static_cast<size_t>(got) < need)
        ctx.fail("corrupt TIFF: " + where + " strip " + std::to_string(strip) + " cannot be decoded");
      if (!direct)
        copy_any(pl.depth, buf.data(), l.width * pl.per_pixel, out, static_cast<int>(y), 0, rows,
                 static_cast<int>(l.width), p);
    }
}

cv::Mat read_native(TIFF* tif, const Layout& l, int page, const Context& ctx) {
  Planes pl;
  pl.depth = cv_depth(l, page, ctx);
  pl.separate = l.planar == PLANARCONFIG_SEPARATE && l.samples > 1;
  pl.count = pl.separate ? l.samples : 1;
  pl.per_pixel = pl.separate ? 1 : l.samples;
  cv::Mat out(static_cast<int>(l.height), static_cast<int>(l.width), CV_MAKETYPE(pl.depth, l.samples));
  const std::string where = "page " + std::to_string(page);
  if (TIFFIsTiled(tif)) read_tiles(tif, l, pl, out, where, ctx);
  else read_strips(tif, l, pl, out, where, ctx);
  if (l.photometric == PHOTOMETRIC_MINISWHITE) {
    if (pl.depth == CV_32F) out = -out;  // white is the smallest value; float_to_16bit maps the range
    else if (pl.depth != CV_32S) cv::bitwise_not(out, out);
  }
  return out;
}

// Palette, YCbCr, CMYK, 1/2/4-bit and other layouts: libtiff's RGBA expansion (8 bits per
// sample). Gray stays one channel; alpha is kept only when the file declares it.
cv::Mat read_expanded(TIFF* tif, const Layout& l, int page, const Context& ctx) {
  char reason[1024] = {0};
  if (!TIFFRGBAImageOK(tif, reason))
    ctx.fail("unsupported TIFF: page " + std::to_string(page) + ": " + reason);
  std::vector<uint32_t> raster(static_cast<size_t>(l.width) * l.height);
  if (!TIFFReadRGBAImageOriented(tif, l.width, l.height, raster.data(), ORIENTATION_TOPLEFT, 1))
    ctx.fail("corrupt TIFF: page " + std::to_string(page) + " cannot be decoded");
  bool gray = (l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_MINISWHITE) && l.samples == 1;
  int channels = gray ? 1 : (l.alpha ? 4 : 3);
  cv::Mat out(static_cast<int>(l.height), static_cast<int>(l.width), CV_8UC(channels));
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* d = out.ptr<uint8_t>(y);
    const uint32_t* s = raster.data() + static_cast<size_t>(y) * l.width;
    for (int x = 0; x < out.cols; ++x) {
      uint32_t v = s[x];
      if (gray) {
        d[x] = static_cast<uint8_t>(TIFFGetR(v));
        continue;
      }
      uint8_t* px = d + static_cast<size_t>(x) * channels;
      px[0] = static_cast<uint8_t>(TIFFGetR(v));
      px[1] = static_cast<uint8_t>(TIFFGetG(v));
      px[2] = static_cast<uint8_t>(TIFFGetB(v));
      if (channels == 4) px[3] = static_cast<uint8_t>(TIFFGetA(v));
    }
  }
  return out;
}

std::string describe(const cv::Mat& m) {
  int bits = m.depth() == CV_8U ? 8 : m.depth() == CV_16U ? 16 : 32;
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " " + std::to_string(bits) + "-bit" +
         (m.depth() == CV_32F ? " float" : "");
}

std::string format_value(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

// Magnitudes from here up are treated as infinities: some tools write +-FLT_MAX for "no data".
constexpr double kNoDataMagnitude = 1e38;

// 32-bit float samples -> 16-bit, per channel: a channel's finite range maps linearly onto
// 0 .. 65535 (NaN and -inf, or -FLT_MAX, to 0; +inf or +FLT_MAX to 65535; a constant channel
// to 0). Percentile normalisation, nucseg's default and per channel too, then gives the network
// the input it would compute from the floats, up to the 16-bit rounding; one range for all
// channels would leave a dim channel beside a bright one a few levels. Returns what was done,
// for error messages.
std::string float_to_16bit(cv::Mat& pixels) {
  const int n = pixels.channels();
  cv::Mat flat = pixels.reshape(1);
  auto finite = [](float v) { return std::isfinite(v) && std::abs(v) < kNoDataMagnitude; };
  std::vector<double> lo(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<double> hi(static_cast<size_t>(n), -std::numeric_limits<double>::infinity());
  for (int r = 0; r < flat.rows; ++r) {
    const float* p = flat.ptr<float>(r);
    for (int c = 0; c < flat.cols; ++c)
      if (finite(p[c])) {
        const size_t k = static_cast<size_t>(c % n);
        lo[k] = std::min(lo[k], static_cast<double>(p[c]));
        hi[k] = std::max(hi[k], static_cast<double>(p[c]));
      }
  }
  std::vector<double> scale(static_cast<size_t>(n), 0.0);
  for (size_t k = 0; k < scale.size(); ++k)
    if (hi[k] > lo[k]) scale[k] = 65535.0 / (hi[k] - lo[k]);
  cv::Mat out(pixels.size(), CV_MAKETYPE(CV_16U, n));
  cv::Mat out_flat = out.reshape(1);
  for (int r = 0; r < flat.rows; ++r) {
    const float* p = flat.ptr<float>(r);
    uint16_t* d = out_flat.ptr<uint16_t>(r);
    for (int c = 0; c < flat.cols; ++c) {
      const size_t k = static_cast<size_t>(c % n);
      const float v = p[c];
      const double u = finite(v) ? (v - lo[k]) * scale[k] : (std::isnan(v) || v < 0 ? 0.0 : 65535.0);
      d[c] = static_cast<uint16_t>(std::lround(std::clamp(u, 0.0, 65535.0)));
    }
  }
  pixels = out;
  std::string ranges;
  for (int k = 0; k < n; ++k)
    ranges += (k ? ", " : "") + (hi[static_cast<size_t>(k)] >= lo[static_cast<size_t>(k)]
                                     ? format_value(lo[static_cast<size_t>(k)]) + " .. " + format_value(hi[static_cast<size_t>(k)])
                                     : std::string("no finite value"));
  return "32-bit float samples (" + ranges + (n > 1 ? " per channel" : "") + ") mapped to 0 .. 65535";
}

using TiffHandle = std::unique_ptr<TIFF, void (*)(TIFF*)>;

TiffHandle open_tiff(Stream* stream, Messages* messages, const Context& ctx) {
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  if (!options) throw_runtime("cannot allocate libtiff options", ctx.file);
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), on_error, messages);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), on_warning, nullptr);
  TIFF* tif = TIFFClientOpenExt(ctx.file.c_str(), "r", stream, read_proc, write_proc, seek_proc, close_proc, size_proc,
                                map_proc, unmap_proc, options.get());
  if (!tif) ctx.fail("corrupt or truncated TIFF: cannot read its first directory");
  return TiffHandle(tif, TIFFClose);
}

TiffResolution read_resolution(TIFF* tif) {
  TiffResolution r;
  float x = 0, y = 0;
  uint16_t unit = RESUNIT_INCH;
  const char* description = nullptr;
  if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &x)) r.x = x;
  if (TIFFGetField(tif, TIFFTAG_YRESOLUTION, &y)) r.y = y;
  if (TIFFGetField(tif, TIFFTAG_RESOLUTIONUNIT, &unit)) r.unit = unit;
  if (TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &description) && description) r.description = description;
  return r;
}

}  // namespace

TiffPixels decode_tiff(const std::vector<unsigned char>& bytes, const std::string& file, bool allow_32bit) {
  Messages messages;
  Context ctx{file, bytes.size(), &messages, allow_32bit};
  check_first_directory(bytes, ctx);
  Stream stream{bytes.data(), bytes.size(), 0};
  TiffHandle tif = open_tiff(&stream, &messages, ctx);
  const TiffResolution resolution = read_resolution(tif.get());

  std::vector<cv::Mat> pages;
  bool alpha = false;
  int channels = 0;
  for (int dir = 0;; ++dir) {
    uint32_t subfile = 0;
    TIFFGetField(tif.get(), TIFFTAG_SUBFILETYPE, &subfile);
    if (!(subfile & FILETYPE_REDUCEDIMAGE)) {  // thumbnails and pyramid levels are not channels
      check_striles(tif.get(), dir, ctx);
      Layout layout = read_layout(tif.get(), dir, ctx);
      // Before any buffer is sized from the header: all pages' channels so far plus this one's
      // (an expanded palette/YCbCr page becomes RGBA).
      check_declared_size(layout.width, layout.height, channels + (native(layout) ? layout.samples : 4), file);
      cv::Mat m = native(layout) ? read_native(tif.get(), layout, dir, ctx) : read_expanded(tif.get(), layout, dir, ctx);
      if (!pages.empty() && (m.size() != pages[0].size() || m.depth() != pages[0].depth()))
        ctx.fail("multi-page TIFF: page " + std::to_string(dir) + " is " + describe(m) + " but the first page is " +
                 describe(pages[0]) + " (pages are read as channels and must agree)");
      channels += m.channels();
      if (channels > CV_CN_MAX)
        ctx.fail("unsupported TIFF: more than " + std::to_string(CV_CN_MAX) + " channels over all pages");
      alpha = layout.alpha;
      pages.push_back(std::move(m));
    }
    int errors_before = messages.errors;
    if (!TIFFReadDirectory(tif.get())) {
      if (messages.errors > errors_before) ctx.fail("corrupt or truncated TIFF: cannot read directory " + std::to_string(dir + 1));
      break;
    }
  }
  if (pages.empty()) ctx.fail("TIFF holds only reduced-resolution pages");
  TiffPixels out;
  out.pages = static_cast<int>(pages.size());
  out.resolution = resolution;
  out.alpha = pages.size() == 1 && alpha;
  if (pages.size() == 1) {
    out.pixels = std::move(pages[0]);
  } else {
    cv::merge(pages, out.pixels);
  }
  if (out.pixels.depth() == CV_32F) out.converted = float_to_16bit(out.pixels);
  return out;
}

}  // namespace nucseg::io::detail
