// Fuzzes the image reader as the tools call it: io::read_raw_image(path) on a file of arbitrary
// bytes (signature sniffing, the PNG/JPEG end-marker checks, OpenCV's PNG and JPEG decoders,
// the PNG pHYs reader, and the TIFF path), then to_network_input with the channel choices
// rgb, gray and [last], and the percentile and range normalisations of the result.
// Seeds: seeds/make_seeds.py (8/16-bit PNG gray/GA/RGB/RGBA with and without pHYs, JPEG gray
// and colour, a few TIFFs).
#include "fuzz_common.hpp"
#include "nucseg/io/channels.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/normalize.hpp"
#include "declared_size.hpp"  // after OpenCV: tiff.h deprecates the int64 OpenCV's headers use

using nucseg::ChannelSpec;
using nucseg::ErrorKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (nucseg_fuzz::declared_too_large(data, size)) return -1;  // a bomb already reported
  const std::string path = nucseg_fuzz::write_temp(data, size, ".img");
  nucseg::io::RawImage raw;
  const bool read = nucseg_fuzz::refuses_cleanly([&] { raw = nucseg::io::read_raw_image(path); }, {ErrorKind::data});
  if (!read) return 0;
  const cv::Mat& m = raw.pixels;
  if (m.empty() || (m.depth() != CV_8U && m.depth() != CV_16U))
    nucseg_fuzz::wrong("read_raw_image returned an empty image or depth " + std::to_string(m.depth()));
  if (raw.format != "png" && raw.format != "jpeg" && raw.format != "tiff") nucseg_fuzz::wrong("format " + raw.format);

  const ChannelSpec specs[] = {{ChannelSpec::Kind::rgb, {}},
                               {ChannelSpec::Kind::gray, {}},
                               {ChannelSpec::Kind::indices, {raw.channels() - 1}}};
  for (const auto& spec : specs) {
    nucseg_fuzz::refuses_cleanly(
        [&] {
          auto in = nucseg::io::to_network_input(raw, spec, path, "data.channels");
          if (in.rgb.size() != m.size() || (in.rgb.type() != CV_8UC3 && in.rgb.type() != CV_16UC3))
            nucseg_fuzz::wrong("network input of another size or type");
          if (in.effective_bits < 1 || in.effective_bits > in.bit_depth)
            nucseg_fuzz::wrong("effective bits " + std::to_string(in.effective_bits) + " of a " +
                               std::to_string(in.bit_depth) + "-bit image");
          nucseg::io::NormalizeSpec percentile;
          nucseg::io::NormalizeSpec range;
          range.kind = nucseg::io::NormalizeKind::range;
          for (const auto& n : {percentile, range}) {
            cv::Mat x = nucseg::io::normalize_image(in.rgb, n);
            if (cv::checkRange(x, true, nullptr) == false) nucseg_fuzz::wrong("normalised input holds NaN or inf");
          }
        },
        {ErrorKind::data});
  }
  return 0;
}
