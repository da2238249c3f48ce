#include "nucseg/segment/kaggle_score.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>

#include "nucseg/core/error.hpp"

namespace nucseg::segment {
namespace {

cv::Mat as_labels(const cv::Mat& m, const char* which) {
  if (m.channels() != 1 || (m.depth() != CV_32S && m.depth() != CV_16U && m.depth() != CV_8U))
    throw_data(which, "score_image: labels must be single-channel CV_32S, CV_16U or CV_8U (type " +
                          std::to_string(m.type()) + ")");
  cv::Mat out;
  if (m.depth() == CV_32S) out = m.isContinuous() ? m : m.clone();
  else m.convertTo(out, CV_32S);
  return out;
}

// 0/0 cases: nothing to find and nothing found is perfect.
double ratio(double num, double den, bool both_empty) { return den > 0 ? num / den : (both_empty ? 1.0 : 0.0); }

// The false negatives at IoU 0.5 by cause (MissCauses), from the overlap table. "Covers more
// than half" is 2 * overlap > area, exact in integers.
MissCauses miss_causes(const std::unordered_map<int32_t, int64_t>& area_t,
                       const std::unordered_map<int32_t, int64_t>& area_p,
                       const std::unordered_map<uint64_t, int64_t>& overlap) {
  struct TrueSide {
    int64_t covered = 0, best = 0;  // pixels under any prediction; under the best one
    int32_t best_pred = 0;
    bool matched = false;
  };
  std::unordered_map<int32_t, TrueSide> truths;
  std::unordered_map<int32_t, int> majorities;  // per prediction: true objects it covers more than half of
  for (const auto& [key, inter] : overlap) {
    const auto t = static_cast<int32_t>(key >> 32), p = static_cast<int32_t>(key & 0xffffffffu);
    const int64_t at = area_t.at(t), ap = area_p.at(p);
    TrueSide& side = truths[t];
    side.covered += inter;
    if (inter > side.best) side.best = inter, side.best_pred = p;
    if (2 * inter > at - inter + ap) side.matched = true;  // IoU > 0.5 <=> 2 inter > union
    if (2 * inter > at) ++majorities[p];
  }
  MissCauses c;
  for (const auto& [t, at] : area_t) {
    const auto found = truths.find(t);
    if (found == truths.end() || 2 * found->second.covered <= at) {
      ++c.missed;
      continue;
    }
    const TrueSide& side = found->second;
    if (side.matched) continue;
    if (2 * side.best <= at) ++c.split;
    else if (majorities[side.best_pred] >= 2) ++c.merged;
    else ++c.outline;
  }
  return c;
}

}  // namespace

double threshold(int i) { return 0.5 + 0.05 * i; }

ImageScore score_image(const cv::Mat& truth_labels, const cv::Mat& pred_labels) {
  if (truth_labels.size() != pred_labels.size())
    throw_data("", "score_image: truth is " + std::to_string(truth_labels.cols) + "x" + std::to_string(truth_labels.rows) +
                       " but prediction is " + std::to_string(pred_labels.cols) + "x" + std::to_string(pred_labels.rows));
  const cv::Mat truth = as_labels(truth_labels, "truth");
  const cv::Mat pred = as_labels(pred_labels, "prediction");
  const int32_t* t = truth.ptr<int32_t>();
  const int32_t* p = pred.ptr<int32_t>();
  const size_t n = truth.total();

  // One pass: object areas and a sparse overlap table; runs of one (truth, pred) pair along a
  // row hit the same key, so the hash map is touched once per run rather than per pixel.
  std::unordered_map<int32_t, int64_t> area_t, area_p;
  std::unordered_map<uint64_t, int64_t> overlap;
  int64_t fg_t = 0, fg_p = 0, fg_both = 0, agree = 0;
  uint64_t run_key = 0;
  int64_t run_len = 0;
  int32_t run_t = 0, run_p = 0;
  auto flush = [&]() {
    if (run_len == 0) return;
    if (run_t > 0) area_t[run_t] += run_len;
    if (run_p > 0) area_p[run_p] += run_len;
    if (run_t > 0 && run_p > 0) overlap[run_key] += run_len;
    run_len = 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const int32_t a = t[i], b = p[i];
    if (a < 0 || b < 0) throw_data(a < 0 ? "truth" : "prediction", "score_image: negative label " + std::to_string(a < 0 ? a : b));
    fg_t += a > 0;
    fg_p += b > 0;
    fg_both += (a > 0) & (b > 0);
    agree += (a > 0) == (b > 0);
    if (a == 0 && b == 0) continue;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    if (run_len > 0 && key == run_key) { ++run_len; continue; }
    flush();
    run_key = key;
    run_t = a;
    run_p = b;
    run_len = 1;
  }
  flush();

  ImageScore s;
  s.n_true = static_cast<int>(area_t.size());
  s.n_pred = static_cast<int>(area_p.size());
  // Exact rational test: IoU > (10 + k) / 20  <=>  20 * inter > (10 + k) * union.
  for (const auto& [key, inter] : overlap) {
    const int64_t uni = area_t[static_cast<int32_t>(key >> 32)] + area_p[static_cast<int32_t>(key & 0xffffffffu)] - inter;
    for (int k = 0; k < kThresholds; ++k)
      if (20 * inter > (10 + k) * uni) ++s.tp[static_cast<size_t>(k)];
  }
  const bool both_empty = s.n_true == 0 && s.n_pred == 0;
  double sum = 0;
  for (size_t k = 0; k < kThresholds; ++k) {
    s.fp[k] = s.n_pred - s.tp[k];
    s.fn[k] = s.n_true - s.tp[k];
    sum += ratio(s.tp[k], s.tp[k] + s.fp[k] + s.fn[k], both_empty);
  }
  s.score = sum / kThresholds;
  s.fn50_causes = miss_causes(area_t, area_p, overlap);
  s.ap50 = ratio(s.tp[0], s.tp[0] + s.fp[0] + s.fn[0], both_empty);
  s.precision50 = ratio(s.tp[0], s.n_pred, both_empty);
  s.recall50 = ratio(s.tp[0], s.n_true, both_empty);
  s.f1_50 = ratio(2.0 * s.tp[0], 2.0 * s.tp[0] + s.fp[0] + s.fn[0], both_empty);
  s.pixel_accuracy = ratio(static_cast<double>(agree), static_cast<double>(n), true);
  const bool no_fg = fg_t == 0 && fg_p == 0;
  s.fg_iou = ratio(static_cast<double>(fg_both), static_cast<double>(fg_t + fg_p - fg_both), no_fg);
  s.fg_dice = ratio(2.0 * static_cast<double>(fg_both), static_cast<double>(fg_t + fg_p), no_fg);
  return s;
}

DatasetScore aggregate(const std::vector<ImageScore>& images) {
  DatasetScore d;
  d.n_images = static_cast<int>(images.size());
  for (const auto& s : images) {
    d.score += s.score;
    for (size_t k = 0; k < kThresholds; ++k) {
      const int den = s.tp[k] + s.fp[k] + s.fn[k];
      d.score_at[k] += ratio(s.tp[k], den, s.n_true == 0 && s.n_pred == 0);
    }
    d.tp50 += s.tp[0];
    d.fp50 += s.fp[0];
    d.fn50 += s.fn[0];
    d.n_true += s.n_true;
    d.n_pred += s.n_pred;
    d.pixel_accuracy += s.pixel_accuracy;
    d.fg_iou += s.fg_iou;
    d.fg_dice += s.fg_dice;
    d.fn50_causes += s.fn50_causes;
  }
  if (d.n_images > 0) {
    const double n = d.n_images;
    d.score /= n;
    for (auto& v : d.score_at) v /= n;
    d.pixel_accuracy /= n;
    d.fg_iou /= n;
    d.fg_dice /= n;
  }
  const bool both_empty = d.n_true == 0 && d.n_pred == 0;
  const double tp = static_cast<double>(d.tp50);
  d.ap50 = ratio(tp, tp + static_cast<double>(d.fp50 + d.fn50), both_empty);
  d.precision50 = ratio(tp, static_cast<double>(d.n_pred), both_empty);
  d.recall50 = ratio(tp, static_cast<double>(d.n_true), both_empty);
  d.f1_50 = ratio(2 * tp, 2 * tp + static_cast<double>(d.fp50 + d.fn50), both_empty);
  return d;
}

}  // namespace nucseg::segment
