// Fuzzes nucseg's TIFF decoder (src/io/tiff_decoder.cpp: libtiff in memory, then nucseg's own
// strip/tile/plane copying, multi-page stacking, the RGBA expansion of palette/YCbCr/1-bit
// files, and the 32-bit float -> 16-bit mapping) on the bytes read_raw_image hands it, both
// as an image (8/16-bit, float) and as a label mask (32-bit integers admitted); then the
// metadata reader pixel_size_from_tiff and the channel mapping of the network input.
// Seeds: seeds/make_seeds.py (strips, tiles, planar, multi-page, float32, BigTIFF, codecs).
#include <vector>

#include "fuzz_common.hpp"
#include "nucseg/io/channels.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/pixel_size.hpp"
#include "tiff_decoder.hpp"
#include "declared_size.hpp"  // after OpenCV: tiff.h deprecates the int64 OpenCV's headers use

using nucseg::ErrorKind;

namespace {

void check_pixels(const nucseg::io::detail::TiffPixels& t, bool labels) {
  const cv::Mat& m = t.pixels;
  if (m.empty() || m.dims != 2) nucseg_fuzz::wrong("decode_tiff returned no pixels");
  const int d = m.depth();
  if (d != CV_8U && d != CV_16U && !(labels && d == CV_32S))
    nucseg_fuzz::wrong("decode_tiff returned depth " + std::to_string(d) + (labels ? " (labels)" : " (image)"));
  if (t.pages < 1 || t.pages > m.channels()) nucseg_fuzz::wrong("pages " + std::to_string(t.pages) + " for " +
                                                                std::to_string(m.channels()) + " channels");
  if (t.alpha && t.pages != 1) nucseg_fuzz::wrong("alpha on a multi-page stack");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // read_raw_image sends only these signatures to decode_tiff.
  static const char* sigs[] = {"II*\0", "MM\0*", "II+\0", "MM\0+"};
  bool tiff = false;
  for (const char* s : sigs) tiff = tiff || (size >= 4 && std::memcmp(data, s, 4) == 0);
  if (!tiff) return -1;  // not added to the corpus
  if (nucseg_fuzz::declared_too_large(data, size)) return -1;  // a bomb already reported
  const std::vector<unsigned char> bytes(data, data + size);

  for (bool labels : {false, true}) {
    nucseg_fuzz::refuses_cleanly(
        [&] {
          auto t = nucseg::io::detail::decode_tiff(bytes, "fuzz.tif", labels);
          check_pixels(t, labels);
          (void)nucseg::io::pixel_size_from_tiff(t.resolution);
          if (labels) return;
          nucseg::io::RawImage raw;
          raw.pixels = t.pixels;
          raw.alpha = t.alpha;
          raw.pages = t.pages;
          raw.format = "tiff";
          for (auto spec : {nucseg::ChannelSpec{nucseg::ChannelSpec::Kind::rgb, {}},
                            nucseg::ChannelSpec{nucseg::ChannelSpec::Kind::indices, {raw.channels() - 1}}}) {
            nucseg_fuzz::refuses_cleanly(
                [&] {
                  auto in = nucseg::io::to_network_input(raw, spec, "fuzz.tif", "data.channels");
                  if (in.rgb.size() != raw.pixels.size() || in.rgb.channels() != 3)
                    nucseg_fuzz::wrong("network input of another size or channel count");
                },
                {ErrorKind::data});
          }
        },
        {ErrorKind::data});
  }
  return 0;
}
