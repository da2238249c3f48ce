// Private to src/io: TIFF decoding with libtiff (OpenCV's TIFF decoder reads one page with 1, 3
// or 4 samples only).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/io/pixel_size.hpp"

namespace nucseg::io::detail {

struct TiffPixels {
  cv::Mat pixels;      // CV_8UC(n), CV_16UC(n) or CV_32SC(n), samples then pages in file order
  std::string converted;  // how 32-bit float samples were mapped to CV_16U; empty: as stored
  bool alpha = false;  // single page whose last sample is declared alpha
  int pages = 0;       // full-resolution pages read
  TiffResolution resolution;  // of the first directory
};

// Decodes every full-resolution page of the TIFF in `bytes` (reduced-resolution pages, i.e.
// thumbnails and pyramid levels, are skipped) and stacks them as channels. `allow_32bit`
// admits 32-bit integer samples (label masks); 32-bit float samples (images only) come back
// as 16-bit, each channel's finite range mapped onto 0 .. 65535 (`converted` says so). Throws Error(data) naming `file`: a directory,
// strip or tile that ends past the end of the file is reported as "truncated TIFF".
TiffPixels decode_tiff(const std::vector<unsigned char>& bytes, const std::string& file, bool allow_32bit);

}  // namespace nucseg::io::detail
