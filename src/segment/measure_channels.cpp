// Per-channel intensity sums of every object: one pass over the pixels, all channels at once.
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "nucseg/core/error.hpp"
#include "nucseg/segment/measure.hpp"

namespace nucseg::segment {
namespace {

// Row of the table for each label value: a dense array when labels are small numbers (the
// usual 1..N), a hash map for sparse ones.
class RowOfLabel final {
 public:
  RowOfLabel(const std::vector<int32_t>& labels, int32_t largest_in_image, size_t pixels) {
    dense_ = largest_in_image <= static_cast<int64_t>(4 * pixels + 1024);
    if (dense_) index_.assign(static_cast<size_t>(largest_in_image) + 1, -1);
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] <= 0) continue;
      if (!dense_) sparse_[labels[i]] = static_cast<long>(i);
      else if (labels[i] <= largest_in_image) index_[static_cast<size_t>(labels[i])] = static_cast<long>(i);
    }
  }
  long operator()(int32_t label) const {
    if (dense_) return index_[static_cast<size_t>(label)];
    auto it = sparse_.find(label);
    return it == sparse_.end() ? -1 : it->second;
  }

 private:
  bool dense_ = true;
  std::vector<long> index_;
  std::unordered_map<int32_t, long> sparse_;
};

template <class T>
void accumulate(const cv::Mat& labels, const cv::Mat& raw, const RowOfLabel& row_of, std::vector<double>& sums,
                std::vector<int64_t>& counts) {
  const size_t n = static_cast<size_t>(raw.channels());
  for (int r = 0; r < labels.rows; ++r) {
    const int32_t* L = labels.ptr<int32_t>(r);
    const T* p = raw.ptr<T>(r);
    for (int c = 0; c < labels.cols; ++c) {
      if (L[c] <= 0) continue;
      const long row = row_of(L[c]);
      if (row < 0) continue;
      ++counts[static_cast<size_t>(row)];
      double* s = &sums[static_cast<size_t>(row) * n];
      const T* v = p + static_cast<size_t>(c) * n;
      for (size_t k = 0; k < n; ++k) s[k] += static_cast<double>(v[k]);
    }
  }
}

}  // namespace

void measure_channels(const cv::Mat& labels_in, const cv::Mat& raw, ObjectTable& table) {
  if (labels_in.channels() != 1 || (labels_in.depth() != CV_32S && labels_in.depth() != CV_16U))
    throw_runtime("measure_channels: labels must be CV_32SC1 or CV_16UC1");
  const int depth = raw.depth();
  if (raw.empty() || (depth != CV_8U && depth != CV_16U && depth != CV_32F))
    throw_runtime("measure_channels: the raw image must be a non-empty CV_8U, CV_16U or CV_32F image");
  if (raw.size() != labels_in.size()) throw_runtime("measure_channels: raw image and labels differ in size");
  cv::Mat labels;
  if (labels_in.depth() == CV_32S) labels = labels_in;
  else labels_in.convertTo(labels, CV_32S);
  double largest = 0;
  cv::minMaxLoc(labels, nullptr, &largest);

  const size_t n = static_cast<size_t>(raw.channels()), rows = table.size();
  const RowOfLabel row_of(table.label, static_cast<int32_t>(largest), labels.total());
  std::vector<double> sums(rows * n, 0.0);
  std::vector<int64_t> counts(rows, 0);
  if (depth == CV_8U) accumulate<uint8_t>(labels, raw, row_of, sums, counts);
  else if (depth == CV_16U) accumulate<uint16_t>(labels, raw, row_of, sums, counts);
  else accumulate<float>(labels, raw, row_of, sums, counts);

  const double nan = std::numeric_limits<double>::quiet_NaN();
  table.channel_mean.assign(n, std::vector<double>(rows));
  table.channel_integrated.assign(n, std::vector<double>(rows));
  for (size_t i = 0; i < rows; ++i)
    for (size_t k = 0; k < n; ++k) {
      const double s = sums[i * n + k];
      table.channel_integrated[k][i] = s;
      table.channel_mean[k][i] = counts[i] > 0 ? s / static_cast<double>(counts[i]) : nan;
    }
}

}  // namespace nucseg::segment
