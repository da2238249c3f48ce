// Mapping of a file's channels onto the network's three inputs (data.channels, infer.channels).
//
// With N source channels (RawImage::channels(), source order: see io/image.hpp):
//   rgb      N = 1: replicated. N = 2 with alpha (gray + alpha): the first, replicated.
//            N = 3: as stored. N = 4 in one page (RGBA, or RGB plus an undeclared extra sample):
//            the first three. Anything else (2 channels without alpha, 4 pages, N >= 5) is an
//            error asking for a list of channels: nucseg cannot guess which one holds nuclei.
//   gray     N = 1 (or gray + alpha): replicated. N = 3 or 4 in one page: the luminance
//            0.299 R + 0.587 G + 0.114 B, replicated. Otherwise an error as above.
//   [i]      channel i, replicated to the three inputs (e.g. [1]: a nuclear stain in channel 1).
//   [i,j,k]  channels i, j, k as the three inputs.
// The result keeps the source depth (CV_8UC3 or CV_16UC3): normalisation comes after.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/io/image.hpp"

namespace nucseg::io {

// The network input of `raw` under `spec`. Throws Error(data) naming `file` and `key` (the
// config key that chose `spec`) for an index beyond the image's channels, a choice the image
// cannot satisfy (see above), label pixels (32-bit), or spec kind `unset` (resolve it to the
// checkpoint's choice first).
cv::Mat map_channels(const RawImage& raw, const ChannelSpec& spec, const std::string& file, const std::string& key);

}  // namespace nucseg::io
