// Decoding of input images (PNG, JPEG, TIFF) into pixels as stored, and into the network's
// 3-channel form.
//
// Channel order convention: every Mat this header returns holds its channels in SOURCE order:
// RGB(A) for colour PNG/JPEG/TIFF (not OpenCV's BGR), the samples of a TIFF pixel in file order,
// and the pages of a multi-page TIFF one after another. Channel i of a RawImage is what
// data.channels = [i] names.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/io/pixel_size.hpp"

namespace nucseg::io {

// The pixels of one file as stored: 1..512 channels, 8- or 16-bit unsigned (32-bit signed
// only when read as labels).
struct RawImage {
  cv::Mat pixels;      // CV_8UC(n), CV_16UC(n) or CV_32SC(n); channels in source order
  bool alpha = false;  // the last channel is alpha (PNG RGBA, TIFF ExtraSamples = alpha)
  int pages = 1;       // TIFF pages stacked as channels (reduced-resolution pages skipped)
  std::string format;  // "png", "jpeg" or "tiff"
  PixelSize pixel_size;  // what the file's metadata says (pixel_size.hpp); unknown for JPEG
  // How the stored values were changed to fit 16 bits (32-bit float TIFFs: each channel's
  // finite range mapped onto 0 .. 65535); empty: the values as stored. Fixed normalisation, which names raw
  // values, refuses such images (check_fixed_normalization).
  std::string converted;

  int channels() const { return pixels.channels(); }
  int container_bits() const;  // 8, 16 or 32: the sample size as read (16 for a float TIFF, mapped)
};

// image: 8- and 16-bit unsigned samples only. labels: also 32-bit integer TIFF samples
// (instance label masks; negative values and values above 2^31-1 are refused).
enum class PixelRange { image, labels };

// Reads PNG (8/16-bit; gray, gray+alpha, RGB, RGBA), JPEG (gray or colour) and TIFF (strips or
// tiles, contiguous or planar, any codec libtiff has; 8/16/32-bit integer samples, 32-bit
// float samples (mapped to 16 bits per channel over its finite range, RawImage::converted), any number
// of samples per pixel; multi-page files give one channel per page and sample, and all their
// full-resolution pages must agree in size and sample type; palette, YCbCr, CMYK and 1-/4-bit
// TIFFs are expanded to 8-bit RGB(A) or gray). Throws Error(data) naming the file and the
// reason for a missing, zero-byte, truncated (PNG without IEND, JPEG without EOI, TIFF whose
// directory, strips or tiles end past the end of the file), corrupt or unsupported file.
RawImage read_raw_image(const std::filesystem::path& path, PixelRange range = PixelRange::image);

struct DecodedImage {
  cv::Mat rgb;              // CV_8UC3 or CV_16UC3: the network's three inputs, raw values
  int bit_depth = 8;        // the container's: 8 or 16
  int effective_bits = 8;   // bits needed for the largest value of `rgb` (12 for 0..4095 data)
  int source_channels = 3;  // channels in the file (1 gray, 3 RGB, 4 RGBA, pages x samples)
  std::string converted;    // RawImage::converted
};

// read_raw_image, then map_channels (io/channels.hpp) with `spec`; `key` names the config key
// that chose `spec` in errors (e.g. an index out of range). The one-argument form reads with
// `rgb`: gray is replicated, RGBA loses alpha, and anything else needs a channel choice.
DecodedImage read_image(const std::filesystem::path& path);
DecodedImage read_image(const std::filesystem::path& path, const ChannelSpec& spec, const std::string& key);
DecodedImage to_network_input(const RawImage& raw, const ChannelSpec& spec, const std::string& file,
                              const std::string& key);

// CV_8UC3/CV_16UC3 -> CV_32FC3 with values in [0,1] (divided by 2^bit_depth - 1).
cv::Mat to_unit_float(const cv::Mat& rgb, int bit_depth);

// The largest sample value of an image of `bit_depth` bits (255 for 8): the one rule that maps
// pixels to the network's [0,1] input, shared by training, inference and to_unit_float.
double max_pixel_value(int bit_depth);

// The largest image nucseg decodes: 2^28 pixels (16384 x 16384) and 2^30 samples over all
// channels (16384 x 16384 x 4). A file's header can claim any size in a few bytes (a 332-byte
// JPEG says 30000 x 30000, a 2.6 KB TIFF asks for 77 GB), so the size is checked from the
// header before anything is allocated; a larger microscopy mosaic must be tiled first.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;
inline constexpr int64_t kMaxImageSamples = int64_t{1} << 30;
// Error(data) naming `file` when a declared width x height x channels exceeds those limits.
void check_declared_size(int64_t width, int64_t height, int64_t channels, const std::string& file);

// The file name extensions read_image understands, lower case with the dot: .png .tif .tiff
// .jpg .jpeg. The one list every listing (pack, infer, eval) uses.
const std::vector<std::string>& image_extensions();

// True for a name ending in one of image_extensions(), in any case.
bool has_image_extension(const std::filesystem::path& path);

// True for a name ending (in any case) in an extension of an image or microscopy format that
// read_image is not given: .bmp .gif .webp .jp2 .czi .nd2 .lif .lsm .ims .vsi .svs .ndpi .scn
// .mrxs .dcm .ics .oib .oif .dv (some, such as .lsm and .svs, are TIFF inside, but only the
// names of image_extensions() are read). Listings name such files instead of passing them over
// in silence. Not .npy: Cellpose's <stem>_seg.npy annotations sit beside their images.
bool has_unread_image_extension(const std::filesystem::path& path);

}  // namespace nucseg::io
