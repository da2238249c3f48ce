// Private to src/train: the epoch-end outputs of a training run (metrics.csv, TensorBoard
// scalars, previews) and the per-epoch timing line.
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

  void report(const EpochMetrics& m, const ValidationResult& v, int classes);
};

// One line per epoch on where a step's time goes, averaged over ranks (collective): the
// compute+communication step, the all-reduce time (in flight, mostly hidden behind backward),
// the part the optimizer step waited for it, and the wait for the loader. `seconds`: step,
// all-reduce, waited for it, loader wait, summed over this rank's steps.
void log_epoch_timing(const dist::World& world, long epoch, long steps, std::vector<double> seconds,
                      double images_per_s);

}  // namespace nucseg::train
