// Speed of the segment layer on a generated 2048x2048 image with a few thousand touching
// nuclei: instances_from_probabilities (also without segment.core_seed_area or
// segment.interior_reach), measure_objects, score_image and classical_watershed, each next to
// one OpenCV connected-components pass over the same image (the baseline: a single labelling
// pass) measured in the same run.
// Usage: nucseg_segment_bench [side]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "../segment/test_util.hpp"
#include "nucseg/segment/kaggle_score.hpp"
#include "nucseg/segment/classical.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/measure.hpp"

namespace {

double best_seconds(const std::function<void()>& fn, int reps = 3) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int side = argc > 1 ? std::atoi(argv[1]) : 2048;
  if (side < 256 || side % 256) { std::fprintf(stderr, "side must be a multiple of 256\n"); return 2; }
  cv::setNumThreads(1);  // single-threaded numbers: the layer itself is serial
  cv::Mat truth = cv::Mat::zeros(side, side, CV_32SC1);
  int offset = 0;
  for (int ty = 0; ty < side; ty += 256)
    for (int tx = 0; tx < side; tx += 256) {
      cv::Mat tile = nucseg::test::touching_discs(256, 256, 70, 5.0, 11.0, static_cast<uint32_t>(ty * 7 + tx + 1));
      double hi = 0;
      cv::minMaxLoc(tile, nullptr, &hi);
      tile.setTo(0, tile < 0);
      cv::Mat shifted = tile + offset;
      shifted.setTo(0, tile == 0);
      shifted.copyTo(truth(cv::Rect(tx, ty, 256, 256)));
      offset += static_cast<int>(hi);
    }
  const cv::Mat cls = nucseg::test::class_map_from_labels(truth, 2);
  std::vector<cv::Mat> probs(3);
  for (int k = 0; k < 3; ++k) {
    probs[static_cast<size_t>(k)] = cv::Mat(cls.size(), CV_32FC1, cv::Scalar(0.1));
    probs[static_cast<size_t>(k)].setTo(0.8, cls == k);
  }
  cv::Mat rgb(truth.size(), CV_8UC3, cv::Scalar(30, 30, 30));
  rgb.setTo(cv::Scalar(200, 190, 180), truth > 0);
  const double mp = static_cast<double>(truth.total()) / 1e6;

  cv::Mat fg = cls != 0, cc, stats, cent;
  const double t_cc = best_seconds([&] { cv::connectedComponentsWithStats(fg, cc, stats, cent, 8, CV_32S); });
  cv::Mat pred;
  const double t_inst = best_seconds([&] { pred = nucseg::segment::instances_from_probabilities(probs, {}); });
  nucseg::segment::SegmentParams no_core_seeds;
  no_core_seeds.core_seed_area = 0;  // what the interior-component walk costs (segment.core_seed_area)
  const double t_inst0 = best_seconds([&] { nucseg::segment::instances_from_probabilities(probs, no_core_seeds); });
  nucseg::segment::SegmentParams no_reach;
  no_reach.interior_reach = 0;  // what the foreground limit costs (segment.interior_reach)
  const double t_reach0 = best_seconds([&] { nucseg::segment::instances_from_probabilities(probs, no_reach); });
  nucseg::ObjectTable table;
  const double t_meas = best_seconds([&] { table = nucseg::segment::measure_objects("bench", pred, rgb); });
  nucseg::segment::ImageScore score;
  const double t_score = best_seconds([&] { score = nucseg::segment::score_image(truth, pred); });
  cv::Mat classical;
  const double t_classical = best_seconds([&] { classical = nucseg::segment::classical_watershed(rgb); }, 1);
  const auto classical_score = nucseg::segment::score_image(truth, classical);

  std::printf("segment bench: %dx%d, %d true nuclei, %zu predicted, 1 thread\n", side, side, score.n_true, table.size());
  auto row = [&](const char* what, double s) {
    std::printf("  %-32s %8.1f ms %8.1f MP/s  %5.1fx the baseline's time\n", what, 1e3 * s, mp / s, s / t_cc);
  };
  row("baseline: cv::connectedComponents", t_cc);
  row("instances_from_probabilities", t_inst);
  row("  the same, core_seed_area 0", t_inst0);
  row("  the same, interior_reach 0", t_reach0);
  row("measure_objects (RGB intensity)", t_meas);
  row("score_image", t_score);
  row("classical_watershed", t_classical);
  std::printf("  Kaggle score: instances from the derived probabilities %.4f, classical %.4f\n", score.score,
              classical_score.score);
  return 0;
}
