// Batch tensors and the prefetching loader (see batch.hpp for the determinism contract).
#include "nucseg/data/batch.hpp"

#include <chrono>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/data/targets.hpp"

namespace nucseg::data {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Interleaved HWC floats -> planar CHW: a copy, no scaling (the sample is normalised already).
void image_into(const cv::Mat& image, float* out) {
  if (image.type() != CV_32FC3) throw_data("", "batch: image must be CV_32FC3 (a normalised sample)");
  const size_t plane = static_cast<size_t>(image.rows) * image.cols;
  for (int r = 0; r < image.rows; ++r) {
    const float* row = image.ptr<float>(r);
    const size_t base = static_cast<size_t>(r) * image.cols;
    for (int c = 0; c < image.cols; ++c) {
      out[base + c] = row[3 * c];
      out[plane + base + c] = row[3 * c + 1];
      out[2 * plane + base + c] = row[3 * c + 2];
    }
  }
}

}  // namespace

torch::Tensor image_to_tensor(const cv::Mat& image) {
  auto t = torch::empty({3, image.rows, image.cols}, torch::kFloat32);
  image_into(image, t.data_ptr<float>());
  return t;
}

Batch collate(const std::vector<Sample>& samples, HeadTargets heads) {
  if (samples.empty()) throw_data("", "batch: no samples");
  const int h = samples[0].image.rows, w = samples[0].image.cols;
  const long n = static_cast<long>(samples.size());
  Batch b;
  b.images = torch::empty({n, 3, h, w}, torch::kFloat32);
  b.classes = torch::empty({n, h, w}, torch::kInt64);
  // The distance and flow heads' targets come from the instance labels.
  if (heads.distance) b.distance = torch::empty({n, h, w}, torch::kFloat32);
  if (heads.flows) b.flows = torch::empty({n, 2, h, w}, torch::kFloat32);
  float* img = b.images.data_ptr<float>();
  int64_t* cls = b.classes.data_ptr<int64_t>();
  const size_t plane = static_cast<size_t>(h) * w;
  for (long i = 0; i < n; ++i) {
    const Sample& s = samples[i];
    if (s.image.rows != h || s.image.cols != w || s.classes.size() != s.image.size() || s.classes.type() != CV_8UC1)
      throw_data("", "batch: samples differ in size or the class map is not CV_8UC1 of the image size");
    image_into(s.image, img + i * 3 * plane);
    for (int r = 0; r < h; ++r) {
      const uint8_t* row = s.classes.ptr<uint8_t>(r);
      int64_t* dst = cls + i * plane + static_cast<size_t>(r) * w;
      for (int c = 0; c < w; ++c) dst[c] = row[c];
    }
    if (!heads.distance && !heads.flows) continue;
    if (s.labels.size() != s.image.size())
      throw_data("", "batch: a head's targets need instance labels of the image's size in every sample");
    if (heads.distance)
      distance_targets(s.labels).copyTo(cv::Mat(h, w, CV_32FC1, b.distance.data_ptr<float>() + i * plane));
    if (heads.flows) {
      float* f = b.flows.data_ptr<float>() + 2 * i * plane;
      std::vector<cv::Mat> dy_dx = {cv::Mat(h, w, CV_32FC1, f), cv::Mat(h, w, CV_32FC1, f + plane)};
      cv::split(flow_targets(s.labels), dy_dx);  // writes into the batch: same size and type
    }
  }
  return b;
}

BatchLoader::BatchLoader(SampleFn make_sample, LoaderOptions options)
    : make_sample_(std::move(make_sample)), options_(options) {
  if (options_.workers < 1 || options_.prefetch < 1 || options_.batch_size < 1)
    throw_runtime("BatchLoader: workers, prefetch and batch_size must be positive");
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchLoader::start_epoch(long epoch, std::vector<long> indices, long first_batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  epoch_ = epoch;
  indices_ = std::move(indices);
  const long n = static_cast<long>(indices_.size()), bs = options_.batch_size;
  total_batches_ = options_.drop_last ? n / bs : (n + bs - 1) / bs;
  next_to_claim_ = next_to_deliver_ = std::min(std::max(first_batch, 0L), total_batches_);
  ready_.clear();
  failed_.clear();
  work_cv_.notify_all();
}

long BatchLoader::batches_in_epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_batches_;
}

Batch BatchLoader::build(long generation, long epoch, long number) {
  std::vector<long> picked;  // dataset indices of this batch
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_) return {};
    const long bs = options_.batch_size, n = static_cast<long>(indices_.size());
    for (long p = number * bs; p < std::min(n, (number + 1) * bs); ++p) picked.push_back(indices_[p]);
  }
  std::vector<Sample> samples;
  samples.reserve(picked.size());
  for (long index : picked) samples.push_back(make_sample_(index, sample_seed(options_.seed, epoch, index)));
  Batch b = collate(samples, options_.heads);
  b.indices = std::move(picked);
  b.epoch = epoch;
  b.number = number;
  return b;
}

void BatchLoader::worker_loop() {
  for (;;) {
    long generation, epoch, number;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Claim the next batch only while fewer than `prefetch` batches are ahead of the consumer.
      work_cv_.wait(lock, [&] {
        return stopping_ || (next_to_claim_ < total_batches_ && next_to_claim_ < next_to_deliver_ + options_.prefetch);
      });
      if (stopping_) return;
      generation = generation_;
      epoch = epoch_;
      number = next_to_claim_++;
    }
    auto t0 = std::chrono::steady_clock::now();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = build(generation, epoch, number);
    } catch (...) {
      error = std::current_exception();
    }
    double busy = seconds_since(t0);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (generation != generation_) continue;  // the epoch was restarted meanwhile
      stats_.busy_seconds += busy;
      if (error) {
        failed_[number] = error;
      } else {
        stats_.images += static_cast<long>(batch.indices.size());
        ready_[number] = std::move(batch);
      }
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_deliver_ >= total_batches_) return std::nullopt;
  const long want = next_to_deliver_;
  ready_cv_.wait(lock, [&] { return stopping_ || ready_.count(want) || failed_.count(want); });
  stats_.wait_seconds += seconds_since(t0);
  if (auto f = failed_.find(want); f != failed_.end()) {
    auto error = f->second;
    // The epoch cannot continue past a failed batch: end it and drop the work in flight.
    ++generation_;
    total_batches_ = next_to_claim_ = next_to_deliver_ = want;
    ready_.clear();
    failed_.clear();
    std::rethrow_exception(error);
  }
  if (stopping_) return std::nullopt;
  Batch b = std::move(ready_[want]);
  ready_.erase(want);
  ++next_to_deliver_;
  lock.unlock();
  work_cv_.notify_all();
  return b;
}

LoaderStats BatchLoader::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace nucseg::data
