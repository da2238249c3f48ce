// Batch assembly and the prefetching loader: content depends only on (seed, epoch, position),
// worker exceptions reach the consumer, shutdown is clean.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/data/batch.hpp"
#include "nucseg/data/targets.hpp"

using namespace nucseg::data;

namespace {

// A sample whose pixels carry its index and a random value from its seed; workers sleep a
// random, seed-independent time so completion order differs from batch order.
Sample fake_sample(long index, uint64_t seed, bool jitter_timing) {
  if (jitter_timing) {
    static std::atomic<unsigned> counter{0};
    std::this_thread::sleep_for(std::chrono::microseconds((counter++ * 7919u) % 3000u));
  }
  std::mt19937_64 rng(seed);
  Sample s;
  s.image = cv::Mat(4, 5, CV_32FC3, cv::Scalar(static_cast<double>(index % 256) / 255.0,
                                               static_cast<double>(rng() % 256) / 255.0, 1.0));
  s.classes = cv::Mat(4, 5, CV_8UC1, cv::Scalar(static_cast<double>(index % 3)));
  return s;
}

std::vector<long> iota(long n) {
  std::vector<long> v(n);
  for (long i = 0; i < n; ++i) v[i] = 100 + i;
  return v;
}

std::vector<torch::Tensor> run_epoch(int workers, int prefetch, long epoch, long first_batch = 0) {
  LoaderOptions o;
  o.workers = workers;
  o.prefetch = prefetch;
  o.batch_size = 3;
  o.seed = 5;
  BatchLoader loader([](long i, uint64_t seed) { return fake_sample(i, seed, true); }, o);
  loader.start_epoch(epoch, iota(20), first_batch);
  std::vector<torch::Tensor> out;
  while (auto b = loader.next()) out.push_back(b->images);
  return out;
}

}  // namespace

TEST(Batch, TensorsAreNchwCopiesOfTheNormalisedFloats) {
  Sample a;
  a.image = cv::Mat(2, 3, CV_32FC3, cv::Scalar(1.0, 0.0, 0.2));
  a.classes = cv::Mat(2, 3, CV_8UC1, cv::Scalar(2));
  Sample b;
  b.image = cv::Mat(2, 3, CV_32FC3, cv::Scalar(1.25, -0.05, 0.5));
  b.classes = cv::Mat::zeros(2, 3, CV_8UC1);
  auto batch = collate({a, b});
  ASSERT_EQ(batch.images.sizes(), (std::vector<int64_t>{2, 3, 2, 3}));
  ASSERT_EQ(batch.classes.sizes(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(batch.images.dtype(), torch::kFloat32);
  EXPECT_EQ(batch.classes.dtype(), torch::kInt64);
  EXPECT_FLOAT_EQ(batch.images[0][0][1][2].item<float>(), 1.0f);  // R channel first
  EXPECT_FLOAT_EQ(batch.images[0][2][0][0].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(batch.images[1][0][0][0].item<float>(), 1.25f);  // not clipped: percentile
  EXPECT_FLOAT_EQ(batch.images[1][1][0][0].item<float>(), -0.05f); // normalisation leaves tails
  EXPECT_EQ(batch.classes[0][1][1].item<int64_t>(), 2);
  b.image = cv::Mat(3, 3, CV_32FC3);
  b.classes = cv::Mat::zeros(3, 3, CV_8UC1);
  EXPECT_THROW(collate({a, b}), nucseg::Error);
  b.image = cv::Mat(2, 3, CV_8UC3);  // a raw image is not a prepared sample
  b.classes = cv::Mat::zeros(2, 3, CV_8UC1);
  EXPECT_THROW(collate({a, b}), nucseg::Error);
}

// The heads' targets come from the samples' labels, only those asked for; a head without labels
// in a sample is an error, labels without a head are ignored.
TEST(Batch, BuildsTheTargetsOfTheHeadsAskedFor) {
  Sample a;
  a.image = cv::Mat(6, 7, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
  a.classes = cv::Mat::zeros(6, 7, CV_8UC1);
  a.labels = cv::Mat::zeros(6, 7, CV_32SC1);
  a.labels(cv::Rect(1, 1, 4, 4)).setTo(1);
  a.labels(cv::Rect(5, 1, 2, 3)).setTo(2);
  const auto both = collate({a, a}, HeadTargets{true, true});
  ASSERT_EQ(both.distance.sizes(), (std::vector<int64_t>{2, 6, 7}));
  ASSERT_EQ(both.flows.sizes(), (std::vector<int64_t>{2, 2, 6, 7}));
  const cv::Mat d = nucseg::data::distance_targets(a.labels), f = nucseg::data::flow_targets(a.labels);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 7; ++x) {
      EXPECT_EQ(both.distance[1][y][x].item<float>(), d.at<float>(y, x));
      EXPECT_EQ(both.flows[1][0][y][x].item<float>(), f.at<cv::Vec2f>(y, x)[0]);
      EXPECT_EQ(both.flows[1][1][y][x].item<float>(), f.at<cv::Vec2f>(y, x)[1]);
    }
  const auto flows_only = collate({a}, HeadTargets{false, true});
  EXPECT_FALSE(flows_only.distance.defined());
  EXPECT_TRUE(flows_only.flows.defined());
  const auto none = collate({a});
  EXPECT_FALSE(none.distance.defined() || none.flows.defined());
  Sample bare = a;
  bare.labels = cv::Mat();
  EXPECT_THROW(collate({a, bare}, HeadTargets{true, false}), nucseg::Error);
}

TEST(BatchLoader, ContentIndependentOfWorkersAndTiming) {
  auto one = run_epoch(1, 1, 2);
  auto many = run_epoch(4, 3, 2);
  ASSERT_EQ(one.size(), 6u);  // 20 samples, batch 3, last short batch dropped
  ASSERT_EQ(many.size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], many[i])) << "batch " << i;
  // Order: batch b holds positions 3b..3b+2 of the index list.
  EXPECT_NEAR(one[1][0][0][0][0].item<float>() * 255.0f, 103.0f, 1e-3);
  auto other_epoch = run_epoch(2, 2, 3);
  EXPECT_FALSE(torch::equal(one[0], other_epoch[0]));
  // Resuming at batch 4 gives the uninterrupted epoch's batches 4 and 5.
  auto resumed = run_epoch(3, 2, 2, 4);
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_TRUE(torch::equal(resumed[0], one[4]));
  EXPECT_TRUE(torch::equal(resumed[1], one[5]));
}

TEST(BatchLoader, WorkerExceptionReachesTheConsumerAtItsBatch) {
  LoaderOptions o;
  o.workers = 3;
  o.prefetch = 4;
  o.batch_size = 2;
  BatchLoader loader(
      [](long i, uint64_t seed) {
        if (i == 105) nucseg::throw_data("shard-7.h5", "broken record");
        return fake_sample(i, seed, false);
      },
      o);
  loader.start_epoch(0, iota(10));
  ASSERT_TRUE(loader.next().has_value());  // indices 100, 101
  ASSERT_TRUE(loader.next().has_value());  // 102, 103
  try {
    loader.next();  // 104, 105
    FAIL() << "expected the worker's error";
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken record"), std::string::npos);
  }
  EXPECT_FALSE(loader.next().has_value());  // the epoch ended there
  loader.start_epoch(1, iota(4));           // the loader is usable again
  EXPECT_TRUE(loader.next().has_value());
}

TEST(BatchLoader, StopsCleanlyWithBatchesInFlightAndCountsThroughput) {
  LoaderOptions o;
  o.workers = 2;
  o.prefetch = 2;
  o.batch_size = 4;
  for (int round = 0; round < 5; ++round) {
    BatchLoader loader([](long i, uint64_t seed) { return fake_sample(i, seed, true); }, o);
    loader.start_epoch(0, iota(40));
    auto b = loader.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->indices, (std::vector<long>{100, 101, 102, 103}));
    auto stats = loader.stats();
    EXPECT_GE(stats.images, 4);
    EXPECT_LE(stats.images, 4 * (1 + 2 + 2));  // bounded by prefetch plus the batches being built
    EXPECT_GT(stats.images_per_s(o.workers), 0.0);
    EXPECT_GE(stats.wait_seconds, 0.0);
    loader.start_epoch(1, iota(8));  // abandon epoch 0 mid-way
    EXPECT_EQ(loader.batches_in_epoch(), 2);
  }  // destructor joins workers that may be sleeping or waiting
}
