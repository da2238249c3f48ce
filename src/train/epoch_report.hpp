// Private to src/train: the outputs of a training run as it goes (metrics.csv, TensorBoard
// scalars and images, previews) and the per-epoch timing line.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "nucseg/dist/world.hpp"
#include "nucseg/train/metrics.hpp"
#include "nucseg/train/tensorboard.hpp"
#include "nucseg/train/validation.hpp"

namespace nucseg::train {

// Everything an epoch-end report needs, on rank 0.
struct Reporter {
  std::unique_ptr<MetricsCsv> csv;
  std::unique_ptr<EventWriter> events;
  std::filesystem::path previews;

  // metrics.csv row, epoch scalars, previews/epoch-NNN.png and the same picture as the image
  // summary "val/preview".
  void report(const EpochMetrics& m, const ValidationResult& v, int classes);
  // After each optimizer step (`step`: steps done): "step/loss" (the step's loss averaged over
  // ranks) and "step/lr". No-op on ranks other than 0.
  void report_step(long step, double loss, double lr);
};

// One line per epoch on where a step's time goes, averaged over ranks (collective): the
// compute+communication step, the all-reduce time (in flight, mostly hidden behind backward),
// the part the optimizer step waited for it, and the wait for the loader. `seconds`: step,
// all-reduce, waited for it, loader wait, summed over this rank's steps.
void log_epoch_timing(const dist::World& world, long epoch, long steps, std::vector<double> seconds,
                      double images_per_s);

}  // namespace nucseg::train
