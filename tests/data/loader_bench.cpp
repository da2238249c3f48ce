// Loader throughput on a real shard folder, one thread: what one data.workers thread can
// deliver, and what each preparation step costs. Not a test (built on demand):
//   ninja nucseg_loader_bench && nucseg_loader_bench <shard dir> [crop=128] [samples=400]
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "nucseg/data/augment.hpp"
#include "nucseg/data/batch.hpp"
#include "nucseg/data/normalization_cache.hpp"
#include "nucseg/io/shard.hpp"

using namespace nucseg;
using Clock = std::chrono::steady_clock;

namespace {

// Images per second of `prepare(i)` over `n` samples cycling through the train split.
template <class F>
double rate(long n, F prepare) {
  const auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) prepare(i);
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <shard dir> [crop] [samples]\n", argv[0]);
    return 2;
  }
  const auto dataset = io::ShardDataset::open(argv[1]);
  const int crop = argc > 2 ? std::stoi(argv[2]) : 128;
  const long n = argc > 3 ? std::stol(argv[3]) : 400;
  const auto train = dataset.indices("train");
  const DataConfig defaults;
  auto index = [&](long i) { return train[static_cast<size_t>(i) % train.size()]; };

  std::printf("%zu train images, crop %d, %ld samples, 1 thread\n", train.size(), crop, n);
  std::printf("  read only                      %7.1f images/s\n", rate(n, [&](long i) { dataset.read(index(i)); }));
  std::printf("  read + ranges (never cached)   %7.1f images/s\n", rate(n, [&](long i) {
                auto r = dataset.read(index(i));
                io::normalize_ranges(r.image, io::normalize_spec(defaults));
              }));
  auto run = [&](const char* name, data::AugmentParams p) {
    data::NormalizationCache cache(io::normalize_spec(defaults));
    for (size_t i : train) cache.ranges(i, dataset.read(i).image);  // warm: as from epoch 2 on
    p.crop = crop;
    std::printf("  %-30s %7.1f images/s\n", name, rate(n, [&](long i) {
                  auto r = dataset.read(index(i));
                  std::mt19937_64 rng(data::sample_seed(1, 0, i));
                  auto s = data::augment(data::Sample{r.image, r.classes, {}}, cache.ranges(index(i), r.image), p, rng);
                  data::collate({s});
                }));
  };
  data::AugmentParams crop_only;
  crop_only.flip = crop_only.rotate90 = false;
  run("crop + normalise + collate", crop_only);
  const auto all = data::AugmentParams::from(defaults);
  run("all augmentations (defaults)", all);
  auto without = [&](const char* name, auto off) {
    auto p = all;
    off(p);
    run(name, p);
  };
  without("  without scale jitter", [](data::AugmentParams& p) { p.scale_jitter = 0; });
  without("  without distortion", [](data::AugmentParams& p) { p.distort = 0; });
  without("  without noise", [](data::AugmentParams& p) { p.noise = 0; });
  without("  without blur", [](data::AugmentParams& p) { p.blur = 0; });
  without("  without gamma", [](data::AugmentParams& p) { p.gamma = 0; });
  without("  without colour jitter", [](data::AugmentParams& p) { p.hue_jitter = p.channel_jitter = 0; });
  return 0;
}
