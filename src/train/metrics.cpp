// metrics.csv and the confusion matrix.
#include "nucseg/train/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"

namespace nucseg::train {
namespace stdfs = std::filesystem;

std::string class_name(int k) {
  static const char* names[] = {"background", "interior", "border"};
  return k >= 0 && k < 3 ? names[k] : "class" + std::to_string(k);
}

MetricsCsv::MetricsCsv(stdfs::path file, int classes, long keep_through_epoch)
    : file_(std::move(file)), classes_(classes) {
  if (!file_.parent_path().empty()) fs::create_directories(file_.parent_path());
  std::string kept = header() + "\n";
  if (stdfs::exists(file_)) {
    std::istringstream in(fs::read_file(file_));
    std::string line;
    std::getline(in, line);
    if (line != header())
      throw_data(file_.string(), "metrics.csv has another header (a run with other settings?); move it away");
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      long epoch = std::strtol(line.c_str(), nullptr, 10);
      if (epoch <= keep_through_epoch) kept += line + "\n";
    }
  }
  fs::write_file_atomic(file_, kept);
}

std::string MetricsCsv::header() const {
  std::string h = "epoch,step,images_per_s,train_loss,val_loss,pixel_accuracy";
  for (int k = 0; k < classes_; ++k) h += ",iou_" + class_name(k);
  h += ",object_score,lr,wall_seconds";
  return h;
}

void MetricsCsv::append(const EpochMetrics& m) {
  std::ostringstream row;
  row.precision(8);
  row << m.epoch << ',' << m.step << ',' << m.images_per_s << ',' << m.train_loss << ',' << m.val_loss << ','
      << m.pixel_accuracy;
  for (int k = 0; k < classes_; ++k) row << ',' << (k < static_cast<int>(m.iou.size()) ? m.iou[k] : std::nan(""));
  row << ',' << m.object_score << ',' << m.lr << ',' << m.wall_seconds << '\n';
  std::ofstream out(file_, std::ios::app | std::ios::binary);
  if (!out) throw_runtime("cannot open metrics.csv for appending", file_.string());
  out << row.str();
  out.flush();
  if (!out) throw_runtime("cannot write metrics.csv", file_.string());
}

ConfusionMatrix::ConfusionMatrix(int classes) : classes_(classes), counts_(static_cast<size_t>(classes) * classes, 0.0) {}

void ConfusionMatrix::add(const int64_t* truth, const int64_t* predicted, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (truth[i] < 0 || truth[i] >= classes_ || predicted[i] < 0 || predicted[i] >= classes_)
      throw_data("", "confusion matrix: class " + std::to_string(truth[i]) + "/" + std::to_string(predicted[i]) +
                         " out of range");
    counts_[truth[i] * classes_ + predicted[i]] += 1.0;
  }
}

void ConfusionMatrix::add_counts(const std::vector<double>& counts) {
  if (counts.size() != counts_.size()) throw_runtime("confusion matrix: count vectors differ in size");
  for (size_t i = 0; i < counts.size(); ++i) counts_[i] += counts[i];
}

double ConfusionMatrix::total() const {
  double t = 0;
  for (double c : counts_) t += c;
  return t;
}

double ConfusionMatrix::pixel_accuracy() const {
  double diag = 0;
  for (int k = 0; k < classes_; ++k) diag += counts_[k * classes_ + k];
  double t = total();
  return t > 0 ? diag / t : std::numeric_limits<double>::quiet_NaN();
}

double ConfusionMatrix::iou(int k) const {
  double tp = counts_[k * classes_ + k], fp = 0, fn = 0;
  for (int j = 0; j < classes_; ++j) {
    if (j == k) continue;
    fn += counts_[k * classes_ + j];
    fp += counts_[j * classes_ + k];
  }
  double denom = tp + fp + fn;
  return denom > 0 ? tp / denom : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace nucseg::train
