#include "nucseg/io/image.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/io/channels.hpp"
#include "nucseg/io/folder_listing.hpp"
#include "nucseg/io/normalize.hpp"
#include "tiff_decoder.hpp"

namespace nucseg::io {
namespace {

enum class Format { png, jpeg, tiff };

std::vector<unsigned char> read_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) throw_data(path.string(), "image file does not exist");
  // A folder above it that may not be searched: the file may well be there.
  if (ec) throw_data(path.string(), cannot_read("image file", ec));
  if (std::filesystem::is_directory(status)) {  // a folder infer's walk could not list
    std::filesystem::directory_iterator probe(path, ec);
    if (ec) throw_data(path.string(), cannot_read("a folder that", ec) + ": its images are not read");
    std::error_code probe_ec;
    if (std::filesystem::is_directory(path / "masks", probe_ec) && !std::filesystem::exists(path / "images", probe_ec))
      throw_data(path.string(), "a Kaggle item with masks/ but no images/ folder: there is no image to segment");
    if (std::filesystem::is_directory(path / "masks", probe_ec) && std::filesystem::is_directory(path / "images", probe_ec))
      throw_data(path.string(), "a Kaggle item whose images/ folder holds no image (.png .tif .tiff .jpg .jpeg): there "
                                "is no image to segment");
    throw_data(path.string(), "a folder, not an image file");
  }
  if (!std::filesystem::is_regular_file(status)) throw_data(path.string(), "not a regular file");
  // Opened without blocking and checked again on the descriptor: a file swapped for a FIFO
  // after the stat above must not hang the reader in open().
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw_data(path.string(), std::string("cannot open image: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_data(path.string(), std::string("cannot read image: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw_data(path.string(), "not a regular file");
  if (st.st_size == 0) throw_data(path.string(), "zero-byte image file");
  std::vector<unsigned char> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_data(path.string(), std::string("cannot read image: ") + std::strerror(errno));
    if (n == 0) throw_data(path.string(), "cannot read image: the file became shorter while it was read");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

bool starts_with(const std::vector<unsigned char>& b, const char* sig, size_t n) {
  return b.size() >= n && std::memcmp(b.data(), sig, n) == 0;
}

Format sniff(const std::vector<unsigned char>& b, const std::filesystem::path& path) {
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return Format::png;
  if (starts_with(b, "\xff\xd8\xff", 3)) return Format::jpeg;
  if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4) || starts_with(b, "II+\0", 4) ||
      starts_with(b, "MM\0+", 4))
    return Format::tiff;
  throw_data(path.string(), "not an image: no PNG, JPEG or TIFF signature");
}

// Decoders are lenient with truncation (libjpeg pads a cut file with gray and only warns),
// so the end marker of each stream format is checked before decoding (TIFF has none: its
// directories, strips and tiles are checked against the file size in tiff_decoder.cpp).
void check_complete(const std::vector<unsigned char>& b, Format format, const std::filesystem::path& path) {
  if (format == Format::png) {
    static const unsigned char iend[] = {'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    auto it = std::search(b.begin() + 8, b.end(), std::begin(iend), std::end(iend));
    if (it == b.end()) throw_data(path.string(), "truncated PNG: no IEND chunk");
  } else if (format == Format::jpeg) {
    size_t end = b.size();
    while (end > 2 && b[end - 1] == 0) --end;  // some writers pad after the EOI marker
    if (end < 4 || b[end - 2] != 0xff || b[end - 1] != 0xd9) throw_data(path.string(), "truncated JPEG: no end-of-image marker");
  }
}

uint32_t be16(const std::vector<unsigned char>& b, size_t at) { return uint32_t{b[at]} << 8 | b[at + 1]; }
uint32_t be32(const std::vector<unsigned char>& b, size_t at) { return be16(b, at) << 16 | be16(b, at + 2); }

// The size a PNG (IHDR) or JPEG (its first start-of-frame segment) declares, checked before the
// decoder allocates it: a few hundred bytes can claim 30000 x 30000 pixels.
void check_stream_size(const std::vector<unsigned char>& b, Format format, const std::filesystem::path& path) {
  if (format == Format::png) {
    if (b.size() < 26 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return;  // the decoder refuses it
    static const int channels_of_color_type[] = {1, 0, 3, 1, 2, 0, 4};
    const int color = b[25] <= 6 ? channels_of_color_type[b[25]] : 4;
    check_declared_size(be32(b, 16), be32(b, 20), color > 0 ? color : 4, path.string());
    return;
  }
  // JPEG: walk the marker segments up to the first SOFn (C0..CF except DHT C4, JPG C8, DAC CC)
  // as libjpeg's next_marker does: stray bytes between segments are skipped (libjpeg only warns
  // and goes on decoding), fill bytes too, and TEM / RSTn / SOI / EOI carry no length.
  size_t at = 2;
  while (at + 1 < b.size()) {
    if (b[at] != 0xff || b[at + 1] == 0xff || b[at + 1] == 0x00) {
      ++at;
      continue;
    }
    const unsigned char marker = b[at + 1];
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      at += 2;
      continue;
    }
    if (at + 4 > b.size()) return;
    const size_t length = be16(b, at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
      if (at + 10 > b.size()) return;
      check_declared_size(be16(b, at + 7), be16(b, at + 5), b[at + 9], path.string());
      return;
    }
    if (marker == 0xda) return;  // start of scan before a frame: the decoder refuses it
    at += 2 + std::max<size_t>(length, 2);
  }
}

// PNG and JPEG through OpenCV, reordered from its BGR(A) to RGB(A).
RawImage decode_with_opencv(const std::vector<unsigned char>& bytes, Format format, const std::filesystem::path& path) {
  RawImage out;
  out.format = format == Format::png ? "png" : "jpeg";
  cv::Mat raw;
  try {
    raw = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw_data(path.string(), std::string("corrupt image: ") + e.what());
  }
  if (raw.empty()) {
    // libpng refuses a side above 1,000,000 pixels (its default user limit) with only a warning
    // on stderr; the IHDR (width, height: big-endian at bytes 16..23) tells that case apart.
    if (format == Format::png && bytes.size() >= 24 && std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
      constexpr uint32_t libpng_max = 1000000;
      const uint32_t width = be32(bytes, 16), height = be32(bytes, 20);
      if (width > libpng_max || height > libpng_max)
        throw_data(path.string(), "PNG is " + std::to_string(width > libpng_max ? width : height) + " pixels " +
                                      (width > libpng_max ? "wide" : "tall") + "; the PNG decoder reads at most 1,000,000");
    }
    throw_data(path.string(), "corrupt image: the decoder rejected it");
  }
  if (raw.depth() != CV_8U && raw.depth() != CV_16U)
    throw_data(path.string(), "unsupported pixel type (only 8- and 16-bit unsigned images are read)");
  switch (raw.channels()) {
    case 1: out.pixels = raw; break;
    case 3: cv::cvtColor(raw, out.pixels, cv::COLOR_BGR2RGB); break;
    case 4:
      cv::cvtColor(raw, out.pixels, cv::COLOR_BGRA2RGBA);
      out.alpha = true;
      break;
    default: throw_data(path.string(), "unsupported channel count " + std::to_string(raw.channels()));
  }
  return out;
}

// 32-bit samples are labels: values must fit the signed 32-bit labels nucseg uses.
void check_label_values(const cv::Mat& m, const std::filesystem::path& path) {
  if (m.depth() != CV_32S) return;
  double lo = 0;
  cv::minMaxLoc(m.reshape(1), &lo, nullptr);
  if (lo < 0)
    throw_data(path.string(), "label image holds negative values or values above 2147483647 (read as 32-bit labels)");
}

}  // namespace

int RawImage::container_bits() const {
  switch (pixels.depth()) {
    case CV_8U: return 8;
    case CV_16U: return 16;
    default: return 32;
  }
}

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> list{".png", ".tif", ".tiff", ".jpg", ".jpeg"};
  return list;
}

namespace {
std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}
}  // namespace

bool has_image_extension(const std::filesystem::path& path) {
  const auto& list = image_extensions();
  return std::find(list.begin(), list.end(), lower_extension(path)) != list.end();
}

bool has_unread_image_extension(const std::filesystem::path& path) {
  // Common image files, and the vendors' microscopy containers a user's archive holds.
  static const std::vector<std::string> list{".bmp", ".gif", ".webp", ".jp2", ".czi", ".nd2", ".lif",
                                             ".lsm", ".ims", ".vsi", ".svs", ".ndpi", ".scn", ".mrxs",
                                             ".dcm", ".ics", ".oib", ".oif", ".dv"};
  return std::find(list.begin(), list.end(), lower_extension(path)) != list.end();
}

void check_declared_size(int64_t width, int64_t height, int64_t channels, const std::string& file) {
  // A side alone beyond the pixel limit is refused before the product (sides up to 2^32 - 1
  // from a PNG header would overflow it).
  const bool too_wide = width > kMaxImagePixels || height > kMaxImagePixels;
  const int64_t pixels = too_wide ? kMaxImagePixels + 1 : width * height;
  if (pixels > kMaxImagePixels || pixels * std::max<int64_t>(channels, 1) > kMaxImageSamples)
    throw_data(file, "image is " + std::to_string(width) + " x " + std::to_string(height) + " pixels x " +
                         std::to_string(channels) + " channels; nucseg decodes at most " +
                         std::to_string(kMaxImagePixels) + " pixels (16384 x 16384) and " +
                         std::to_string(kMaxImageSamples) + " samples: tile larger images first");
}

namespace {

RawImage read_raw_image_unchecked(const std::filesystem::path& path, PixelRange range) {
  auto bytes = read_bytes(path);
  Format format = sniff(bytes, path);
  check_complete(bytes, format, path);
  if (format != Format::tiff) {
    check_stream_size(bytes, format, path);
    RawImage out = decode_with_opencv(bytes, format, path);
    out.pixel_size = format == Format::png ? pixel_size_from_png(bytes) : PixelSize{0.0, "none"};
    return out;
  }
  auto tiff = detail::decode_tiff(bytes, path.string(), range == PixelRange::labels);
  check_label_values(tiff.pixels, path);
  RawImage out;
  out.pixels = std::move(tiff.pixels);
  out.alpha = tiff.alpha;
  out.pages = tiff.pages;
  out.format = "tiff";
  out.pixel_size = pixel_size_from_tiff(tiff.resolution);
  out.converted = std::move(tiff.converted);
  return out;
}

}  // namespace

RawImage read_raw_image(const std::filesystem::path& path, PixelRange range) {
  // A decoder's own exceptions (OpenCV's, an allocation that fails) are this file's fault, not
  // the run's: they become Error(data) naming it, so pack rejects the one input and infer records
  // one failure instead of the whole job ending in "unexpected failure".
  try {
    return read_raw_image_unchecked(path, range);
  } catch (const Error&) {
    throw;
  } catch (const cv::Exception& e) {
    throw_data(path.string(), std::string("cannot decode the image: ") + e.what());
  } catch (const std::bad_alloc&) {
    // Sizes are checked from the header first, so this is the machine, not the file: a runtime
    // error (pack must not record a transient shortage as a rejected input in a resumable shard).
    throw_runtime("cannot decode the image: out of memory", path.string());
  } catch (const std::length_error& e) {
    throw_data(path.string(), std::string("cannot decode the image: ") + e.what());
  }
}

DecodedImage to_network_input(const RawImage& raw, const ChannelSpec& spec, const std::string& file,
                              const std::string& key) {
  DecodedImage out;
  out.rgb = map_channels(raw, spec, file, key);
  out.bit_depth = raw.container_bits();
  out.effective_bits = effective_bit_depth(out.rgb);
  out.source_channels = raw.channels();
  out.converted = raw.converted;
  return out;
}

DecodedImage read_image(const std::filesystem::path& path, const ChannelSpec& spec, const std::string& key) {
  return to_network_input(read_raw_image(path), spec, path.string(), key);
}

DecodedImage read_image(const std::filesystem::path& path) {
  return read_image(path, ChannelSpec{ChannelSpec::Kind::rgb, {}}, "data.channels");
}

double max_pixel_value(int bit_depth) {
  if (bit_depth < 1 || bit_depth > 16) throw_data("", "bit depth " + std::to_string(bit_depth) + " is not in 1..16");
  return static_cast<double>((1u << bit_depth) - 1u);
}

cv::Mat to_unit_float(const cv::Mat& rgb, int bit_depth) {
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_16UC3)
    throw_runtime("to_unit_float: expected a CV_8UC3 or CV_16UC3 image");
  if (bit_depth < 1 || bit_depth > 16 || (rgb.depth() == CV_8U && bit_depth > 8))
    throw_runtime("to_unit_float: bit depth " + std::to_string(bit_depth) + " does not fit the image type");
  cv::Mat out;
  rgb.convertTo(out, CV_32FC3, 1.0 / max_pixel_value(bit_depth));
  return out;
}

}  // namespace nucseg::io
