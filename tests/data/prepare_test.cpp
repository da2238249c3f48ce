// The loader's preparation of a sample as the trainer does it: ranges on the whole image
// (NormalizationCache), then crop, normalise and augment. A 12-bit copy of an 8-bit image gives
// the same batch; batches with every augmentation on do not depend on the worker count.
#include <gtest/gtest.h>

#include <random>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "nucseg/data/augment.hpp"
#include "nucseg/data/batch.hpp"
#include "nucseg/data/normalization_cache.hpp"

using namespace nucseg;
using data::Sample;

namespace {

// A fluorescence-like 8-bit image: noisy dark background, bright disks of varied brightness.
Sample nuclei_image(int rows, int cols, uint64_t seed) {
  cv::RNG rng(seed);
  Sample s;
  cv::Mat image(rows, cols, CV_8UC3);
  rng.fill(image, cv::RNG::UNIFORM, 5, 40);
  s.labels = cv::Mat::zeros(rows, cols, CV_32SC1);
  for (int k = 1; k <= 12; ++k) {
    cv::Point c(rng.uniform(10, cols - 10), rng.uniform(10, rows - 10));
    const int r = rng.uniform(5, 10), v = rng.uniform(120, 250);
    cv::circle(image, c, r, cv::Scalar(v, v * 0.8, v * 0.6), cv::FILLED);
    cv::circle(s.labels, c, r, cv::Scalar(k), cv::FILLED);
  }
  s.image = image;
  s.classes = cv::Mat::zeros(rows, cols, CV_8UC1);
  s.classes.setTo(1, s.labels > 0);
  return s;
}

Sample twelve_bit_copy(const Sample& s) {
  Sample t = s;
  s.image.convertTo(t.image, CV_16UC3, 4095.0 / 255.0);  // rounds: 0..4095 in a 16-bit container
  return t;
}

data::AugmentParams all_on(int crop) {
  auto p = data::AugmentParams::from(DataConfig{});  // the configured defaults
  p.crop = crop;
  return p;
}

torch::Tensor prepare(const Sample& raw, data::NormalizationCache& cache, size_t key, const data::AugmentParams& p,
                      uint64_t seed) {
  std::mt19937_64 rng(seed);
  return data::collate({data::augment(raw, cache.ranges(key, raw.image), p, rng)}).images;
}

}  // namespace

TEST(Prepare, TwelveBitAndEightBitCopiesGiveTheSameBatch) {
  const auto p = all_on(64);
  for (uint64_t image_seed = 1; image_seed <= 3; ++image_seed) {
    const Sample eight = nuclei_image(120, 100, image_seed), twelve = twelve_bit_copy(eight);
    data::NormalizationCache c8(io::normalize_spec(DataConfig{})), c12(io::normalize_spec(DataConfig{}));
    for (uint64_t seed = 0; seed < 10; ++seed) {
      auto a = prepare(eight, c8, 0, p, seed), b = prepare(twelve, c12, 0, p, seed);
      const double diff = (a - b).abs().max().item<double>();
      EXPECT_LE(diff, 1.0 / 255.0) << "image " << image_seed << " seed " << seed;
      EXPECT_GT(a.max().item<double>(), 0.5);  // not trivially equal: nuclei are there
    }
  }
}

TEST(Prepare, RangesComeFromTheWholeImageNotTheCrop) {
  // Left half dark (0..20), right half bright (200..255): a crop of the left half keeps its
  // values near 0, as when inference normalises the whole image.
  Sample s;
  s.image.create(64, 128, CV_8UC3);
  cv::RNG rng(3);
  rng.fill(s.image.colRange(0, 64), cv::RNG::UNIFORM, 0, 21);
  rng.fill(s.image.colRange(64, 128), cv::RNG::UNIFORM, 200, 256);
  s.classes = cv::Mat::zeros(64, 128, CV_8UC1);
  data::NormalizationCache cache(io::normalize_spec(DataConfig{}));
  const auto whole = io::normalize_ranges(s.image, cache.spec());
  data::AugmentParams p;  // crop only: every other step off
  p.crop = 32;
  p.flip = p.rotate90 = false;
  Sample left = s;
  left.image = s.image.colRange(0, 64).clone();
  left.classes = s.classes.colRange(0, 64).clone();
  std::mt19937_64 rng2(5);
  auto out = data::augment(left, cache.ranges(7, s.image), p, rng2);  // key 7 cached from the whole image
  double lo, hi;
  cv::minMaxLoc(out.image.reshape(1), &lo, &hi);
  EXPECT_LT(hi, 0.15) << "the crop was normalised on its own";
  // The cache returns what it computed on the first call, whatever is passed later.
  const auto again = cache.ranges(7, left.image);
  ASSERT_EQ(again.size(), whole.size());
  for (size_t c = 0; c < whole.size(); ++c) {
    EXPECT_EQ(again[c].lo, whole[c].lo);
    EXPECT_EQ(again[c].hi, whole[c].hi);
  }
  EXPECT_EQ(cache.size(), 1u);
}

TEST(Prepare, AugmentedBatchesDoNotDependOnTheWorkerCount) {
  std::vector<Sample> images;
  for (uint64_t i = 0; i < 6; ++i) images.push_back(i % 2 ? twelve_bit_copy(nuclei_image(90, 110, i)) : nuclei_image(100, 80, i));
  const auto p = all_on(64);
  auto epoch = [&](int workers) {
    data::NormalizationCache cache(io::normalize_spec(DataConfig{}));
    data::LoaderOptions o;
    o.workers = workers;
    o.prefetch = 3;
    o.batch_size = 4;
    o.seed = 9;
    data::BatchLoader loader(
        [&](long position, uint64_t seed) {
          const size_t index = static_cast<size_t>(position) % images.size();
          std::mt19937_64 rng(seed);
          return data::augment(images[index], cache.ranges(index, images[index].image), p, rng);
        },
        o);
    std::vector<long> order;
    for (long i = 0; i < 24; ++i) order.push_back((i * 7) % 24);
    loader.start_epoch(1, order);
    std::vector<data::Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  };
  auto one = epoch(1), three = epoch(3);
  ASSERT_EQ(one.size(), 6u);
  ASSERT_EQ(three.size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(torch::equal(one[i].images, three[i].images)) << "batch " << i;
    EXPECT_TRUE(torch::equal(one[i].classes, three[i].classes)) << "batch " << i;
  }
}
