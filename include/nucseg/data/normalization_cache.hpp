// Per-image normalisation ranges for the loader. The ranges (io::normalize_ranges: percentiles
// per channel, by histogram) are computed on the WHOLE image the first time a sample of it is
// prepared and remembered, because the loader re-reads each image every epoch (and
// data.samples_per_image times per epoch) but crops only a window of it: the window alone
// would give other percentiles than inference, which normalises whole images.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/io/normalize.hpp"

namespace nucseg::data {

class NormalizationCache final {
 public:
  explicit NormalizationCache(io::NormalizeSpec spec) : spec_(spec) {}

  // The ranges of image `key` (any stable id, e.g. the dataset index); `image` is the whole
  // raw image and is read only on the first call for `key`. Safe from several threads (two
  // threads may both compute a missing entry; they get the same result).
  std::vector<io::ChannelRange> ranges(size_t key, const cv::Mat& image);

  const io::NormalizeSpec& spec() const { return spec_; }
  size_t size() const;

 private:
  const io::NormalizeSpec spec_;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<io::ChannelRange>> ranges_;
};

}  // namespace nucseg::data
