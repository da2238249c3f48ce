// Batch assembly and the prefetching loader. Workers turn dataset indices into augmented
// samples and stack them into tensors ahead of the trainer, in a bounded queue.
// Determinism: batch b of an epoch holds the samples at positions [b*B, (b+1)*B) of the
// epoch's index list, and each sample's randomness is seeded by (seed, epoch, index), so a
// batch's content never depends on which worker built it or when, nor on how the epoch's
// items are split over ranks (an image gets the same augmentation on any rank layout).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "nucseg/data/augment.hpp"

namespace nucseg::data {

struct Batch {
  torch::Tensor images;   // N x 3 x H x W float32, normalised (~0..1, not clipped)
  torch::Tensor classes;  // N x H x W int64
  torch::Tensor distance; // N x H x W float32 distance_targets() when the samples carry labels; else undefined
  torch::Tensor flows;    // N x 2 x H x W float32 flow_targets() (dy, dx planes), likewise
  std::vector<long> indices;  // dataset index of each sample
  long epoch = 0;
  long number = 0;  // batch position in the epoch
};

// 3 x H x W float32 from a normalised CV_32FC3 image (values copied as they are).
torch::Tensor image_to_tensor(const cv::Mat& image);
// Which heads' targets a batch carries (model.distance_head, model.flow_head).
struct HeadTargets {
  bool distance = false;
  bool flows = false;
};

// Stacks samples of one size (CV_32FC3 images) and builds, from their instance labels, the
// targets of the heads in `heads` (then every sample must carry labels of its size). Throws
// Error(data) when sizes or types differ or labels are missing.
Batch collate(const std::vector<Sample>& samples, HeadTargets heads = {});

// Produces the (augmented) sample for `index`; `seed` = sample_seed(seed, epoch, index) seeds it.
using SampleFn = std::function<Sample(long index, uint64_t seed)>;

struct LoaderOptions {
  int workers = 1;
  int prefetch = 4;    // batches prepared ahead of the consumer
  int batch_size = 1;
  uint64_t seed = 1;
  bool drop_last = true;  // a short final batch is dropped (keeps batch shapes and ranks equal)
  HeadTargets heads;      // targets built from the samples' labels (collate)
};

struct LoaderStats {
  long images = 0;            // images produced since construction
  double busy_seconds = 0;    // summed over workers
  double wait_seconds = 0;    // time the consumer blocked in next()
  // What the workers can deliver together: images / (busy seconds / workers).
  double images_per_s(int workers) const { return busy_seconds > 0 ? images * workers / busy_seconds : 0.0; }
};

class BatchLoader final {
 public:
  BatchLoader(SampleFn make_sample, LoaderOptions options);
  ~BatchLoader();  // stops and joins the workers, discarding batches in flight
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Starts an epoch over `indices` (this rank's order), skipping the first `first_batch`
  // batches (resume mid-epoch). Any batches of a previous epoch still queued are discarded.
  void start_epoch(long epoch, std::vector<long> indices, long first_batch = 0);
  long batches_in_epoch() const;

  // The next batch in order; nullopt at the end of the epoch. A worker's exception is
  // rethrown here, at the batch it was building.
  std::optional<Batch> next();

  LoaderStats stats() const;

 private:
  void worker_loop();
  Batch build(long generation, long epoch, long number);

  SampleFn make_sample_;
  LoaderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // workers wait for a batch number to claim
  std::condition_variable ready_cv_;  // the consumer waits for its batch
  bool stopping_ = false;
  long generation_ = 0;  // bumped per epoch; results of an older generation are dropped
  long epoch_ = 0;
  std::vector<long> indices_;
  long total_batches_ = 0;
  long next_to_claim_ = 0;
  long next_to_deliver_ = 0;
  std::map<long, Batch> ready_;
  std::map<long, std::exception_ptr> failed_;
  LoaderStats stats_;
  std::vector<std::thread> threads_;
};

}  // namespace nucseg::data
