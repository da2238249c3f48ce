// Benchmark of the synthetic generator (run by tools/bench/synth.sh; not a test).
// Usage: synth_bench [images=200] [side=256] [big_side=8192] [out_dir=/tmp]
// Prints images/s per style at side x side on one core (wall clock, and per CPU second, which
// other load on a shared machine does not change), the cost of writing the Kaggle layout
// relative to generating, and time and peak memory of one big image.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nucseg/core/logging.hpp"
#include "nucseg/synth/writer.hpp"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  const int images = argc > 1 ? std::atoi(argv[1]) : 200;
  const int side = argc > 2 ? std::atoi(argv[2]) : 256;
  const int big = argc > 3 ? std::atoi(argv[3]) : 8192;
  const std::filesystem::path out = std::filesystem::path(argc > 4 ? argv[4] : "/tmp") / "nucseg-synth-bench";
  nucseg::log::init(0, 1, "warn");
  nucseg::SynthConfig c;
  c.min_side = c.max_side = side;
  double gen_mixed = 0;
  for (std::string style : {"fluorescence", "brightfield", "histology", "ihc", "phase", "mixed"}) {
    c.style = style;
    long nuclei = 0;
    double t0 = now(), c0 = cpu_now();
    for (int i = 0; i < images; ++i) {
      auto s = nucseg::synth::generate_sample(c, i);
      double mx = 0;
      cv::minMaxLoc(s.labels, nullptr, &mx);
      nuclei += static_cast<long>(mx);
    }
    double dt = now() - t0, cpu = cpu_now() - c0;
    if (style == "mixed") gen_mixed = dt;
    std::printf("generate %-12s %dx%d: %7.1f images/s, %7.1f per CPU second (%.1f nuclei/image)\n", style.c_str(), side,
                side, images / dt, images / cpu, static_cast<double>(nuclei) / images);
  }
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  double t0 = now();
  for (int i = 0; i < images; ++i) nucseg::synth::write_kaggle_sample(out, nucseg::synth::generate_sample(c, i));
  double dt = now() - t0;
  std::printf("generate+write mixed %dx%d: %7.1f images/s; writing costs %.2fx the generation\n", side, side,
              images / dt, (dt - gen_mixed) / gen_mixed);
  std::filesystem::remove_all(out);
  if (big > 0) {
    double rss0 = peak_rss_mb();
    t0 = now();
    auto s = nucseg::synth::generate_big_sample(c, big);
    dt = now() - t0;
    double mx = 0;
    cv::minMaxLoc(s.labels, nullptr, &mx);
    std::printf("big %dx%d (%s, %ld nuclei): %.2f s, %.1f Mpixel/s, peak RSS %.0f MB (was %.0f; image+labels %.0f MB)\n",
                big, big, s.style.c_str(), static_cast<long>(mx), dt, static_cast<double>(big) * big / dt / 1e6,
                peak_rss_mb(), rss0, static_cast<double>(big) * big * 8 / 1048576.0);
  }
  return 0;
}
