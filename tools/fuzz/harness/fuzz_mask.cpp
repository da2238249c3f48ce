// Fuzzes the annotation-mask path of nucseg_pack and nucseg_eval: io::read_raw_image(path,
// PixelRange::labels) on a file of arbitrary bytes (PNG, JPEG, TIFF with 8/16/32-bit samples),
// then io::labels_from_mask under each mask kind (auto, labels, binary) and io::mask_foreground
// (the Kaggle layout's per-nucleus masks).
// Seeds: seeds/make_seeds.py (label PNG 8/16-bit, colour-coded label PNG, binary PNG, label
// TIFF 16/32-bit, RGBA mask with constant alpha).
#include "fuzz_common.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/mask.hpp"
#include "declared_size.hpp"  // after OpenCV: tiff.h deprecates the int64 OpenCV's headers use

using nucseg::ErrorKind;
using nucseg::io::MaskKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (nucseg_fuzz::declared_too_large(data, size)) return -1;  // a bomb already reported
  const std::string path = nucseg_fuzz::write_temp(data, size, ".mask");
  nucseg::io::RawImage raw;
  const bool read = nucseg_fuzz::refuses_cleanly(
      [&] { raw = nucseg::io::read_raw_image(path, nucseg::io::PixelRange::labels); }, {ErrorKind::data});
  if (!read) return 0;
  if (raw.pixels.empty()) nucseg_fuzz::wrong("read_raw_image returned no pixels");

  for (MaskKind kind : {MaskKind::automatic, MaskKind::labels, MaskKind::binary}) {
    nucseg_fuzz::refuses_cleanly(
        [&] {
          MaskKind used = MaskKind::automatic;
          cv::Mat labels = nucseg::io::labels_from_mask(raw, kind, path, &used);
          if (labels.type() != CV_32SC1 || labels.size() != raw.pixels.size())
            nucseg_fuzz::wrong("labels of another type or size");
          if (used == MaskKind::automatic) nucseg_fuzz::wrong("labels_from_mask did not say which kind it applied");
          double lo = 0;
          cv::minMaxLoc(labels, &lo, nullptr);
          if (lo < 0) nucseg_fuzz::wrong("negative label");
        },
        {ErrorKind::data});
  }
  nucseg_fuzz::refuses_cleanly(
      [&] {
        cv::Mat fg = nucseg::io::mask_foreground(raw);
        if (fg.type() != CV_8UC1 || fg.size() != raw.pixels.size()) nucseg_fuzz::wrong("foreground of another type or size");
      },
      {ErrorKind::data});
  return 0;
}
