// Fuzzes nucseg_eval's run-length ground truth: eval::read_rle_truth on a CSV of arbitrary bytes
// (header lookup, quoted fields, Height/Width, Usage = Ignored), then what eval/run.cpp does
// with each image: the recorded size, or one_row_size when the file has none, and decode_truth
// (segment::decode_rle for every mask). Unsized images are also decoded at a 64 x 64 prediction
// size, as when a prediction exists. NUCSEG_FUZZ_MAX_PIXELS (when set) skips images whose size
// exceeds it, so a campaign can go on past a reported allocation finding.
// Seeds: seeds/make_seeds.py (train-labels and stage-1 solution files).
#include <cstdlib>
#include <vector>

#include "fuzz_common.hpp"
#include "truth_rle.hpp"

using nucseg::ErrorKind;

namespace {

double max_pixels() {
  static const double v = [] {
    const char* s = std::getenv("NUCSEG_FUZZ_MAX_PIXELS");
    return s ? std::atof(s) : 0.0;
  }();
  return v;
}

void decode_at(const nucseg::eval::RleTruthImage& image, cv::Size size) {
  if (max_pixels() > 0 && static_cast<double>(size.width) * size.height > max_pixels()) return;
  nucseg_fuzz::refuses_cleanly(
      [&] {
        cv::Mat labels = nucseg::eval::decode_truth(image, size, "fuzz.csv");
        if (labels.type() != CV_32SC1 || labels.size() != size) nucseg_fuzz::wrong("truth labels of another type or size");
        double lo = 0, hi = 0;
        cv::minMaxLoc(labels, &lo, &hi);
        if (lo < 0 || hi > static_cast<double>(image.masks.size())) nucseg_fuzz::wrong("label outside 0..masks");
      },
      {ErrorKind::data});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = nucseg_fuzz::write_temp(data, size, ".csv");
  std::vector<nucseg::eval::RleTruthImage> images;
  std::vector<std::string> ignored;
  if (!nucseg_fuzz::refuses_cleanly([&] { images = nucseg::eval::read_rle_truth(path, ignored); }, {ErrorKind::data}))
    return 0;
  for (const auto& image : images) {
    const bool sized = image.height > 0 && image.width > 0;
    if (sized) {
      decode_at(image, cv::Size(image.width, image.height));
      continue;
    }
    cv::Size one_row;
    if (nucseg_fuzz::refuses_cleanly([&] { one_row = nucseg::eval::one_row_size(image); }, {ErrorKind::data}))
      decode_at(image, one_row);
    decode_at(image, cv::Size(64, 64));
  }
  return 0;
}
