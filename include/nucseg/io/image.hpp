// Decoding of input images (PNG, TIFF, JPEG; 8/16-bit; gray, RGB or RGBA) into the in-memory
// convention of nucseg: 3 channels in RGB order with the original bit depth recorded.
#pragma once

#include <filesystem>

#include <opencv2/core.hpp>

namespace nucseg::io {

struct DecodedImage {
  cv::Mat rgb;              // CV_8UC3 or CV_16UC3, RGB order
  int bit_depth = 8;        // 8 or 16
  int source_channels = 3;  // 1 gray, 3 RGB, 4 RGBA (alpha dropped)
};

// Throws Error(data) naming the file and the reason for zero-byte, truncated, corrupt or
// non-image files and unsupported pixel types.
DecodedImage read_image(const std::filesystem::path& path);

// The raw decoded pixels (channels and depth as stored, BGR order as OpenCV gives them) after
// the same validation as read_image; used for masks. Throws Error(data) like read_image.
cv::Mat read_raw_image(const std::filesystem::path& path);

// CV_8UC3/CV_16UC3 -> CV_32FC3 with values in [0,1] (divided by 2^bit_depth - 1).
cv::Mat to_unit_float(const cv::Mat& rgb, int bit_depth);

// The largest sample value of an image of `bit_depth` bits (255 for 8): the one rule that maps
// pixels to the network's [0,1] input, shared by training, inference and to_unit_float.
double max_pixel_value(int bit_depth);

// True for the file name extensions read_image understands (.png .tif .tiff .jpg .jpeg,
// any case).
bool has_image_extension(const std::filesystem::path& path);

}  // namespace nucseg::io
