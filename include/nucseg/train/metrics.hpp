// Per-epoch metrics: the metrics.csv writer and the confusion-matrix accumulator behind pixel
// accuracy and per-class IoU (its counts are summed over ranks to get the global numbers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nucseg::train {

// "background", "interior", "border" for the 3-class model, "class<k>" beyond.
std::string class_name(int k);

struct EpochMetrics {
  long epoch = 0;  // 1-based: the epoch just finished
  long step = 0;
  double images_per_s = 0;
  double train_loss = 0;
  double val_loss = 0;
  double pixel_accuracy = 0;
  std::vector<double> iou;  // per class
  double object_score = 0;
  double lr = 0;
  double wall_seconds = 0;
};

// metrics.csv: a header, then one row per epoch, flushed as it is written. Opening an existing
// file (a resumed run) keeps its header and the rows of epochs <= `keep_through_epoch`, so an
// epoch redone after a restart is not listed twice.
class MetricsCsv final {
 public:
  MetricsCsv(std::filesystem::path file, int classes, long keep_through_epoch);
  void append(const EpochMetrics& m);
  std::string header() const;
  const std::filesystem::path& path() const { return file_; }

 private:
  std::filesystem::path file_;
  int classes_;
};

// Pixel confusion counts: counts[truth * classes + predicted].
class ConfusionMatrix final {
 public:
  explicit ConfusionMatrix(int classes);
  void add(const int64_t* truth, const int64_t* predicted, size_t n);
  void add_counts(const std::vector<double>& counts);  // e.g. the result of a sum over ranks
  int classes() const { return classes_; }
  const std::vector<double>& counts() const { return counts_; }  // doubles: summed with MPI_DOUBLE
  double total() const;
  double pixel_accuracy() const;
  double iou(int k) const;  // TP / (TP + FP + FN); NaN when the class is absent from both

 private:
  int classes_;
  std::vector<double> counts_;
};

}  // namespace nucseg::train
