#include "nucseg/data/normalization_cache.hpp"

namespace nucseg::data {

std::vector<io::ChannelRange> NormalizationCache::ranges(size_t key, const cv::Mat& image) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = ranges_.find(key); it != ranges_.end()) return it->second;
  }
  auto computed = io::normalize_ranges(image, spec_);  // outside the lock: other workers go on
  std::lock_guard<std::mutex> lock(mutex_);
  return ranges_.emplace(key, std::move(computed)).first->second;
}

size_t NormalizationCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ranges_.size();
}

}  // namespace nucseg::data
