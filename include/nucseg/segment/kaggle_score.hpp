// The Kaggle Data Science Bowl 2018 object score and the pixel metrics reported beside it.
// Per image and IoU threshold t in 0.50, 0.55, ..., 0.95: a predicted object matches a true
// object when IoU > t (strictly: IoU exactly 0.5 is no match at 0.5); score(t) = TP/(TP+FP+FN);
// the image score is the mean over the ten thresholds, the dataset score the mean over images.
// Conventions (docs/eval.md): an image with no true and no predicted object scores 1 at every
// threshold; ap50 is the DSB "average precision" at 0.5, i.e. TP/(TP+FP+FN) at t = 0.5.
// It lives in the segment layer so that training's validation and nucseg_eval score instances
// with the same code without either reaching into the other.
#pragma once

#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::segment {

inline constexpr int kThresholds = 10;
double threshold(int i);  // 0.50 + 0.05 i

// Why a true object is missed at IoU 0.5 (each false negative at 0.5 is exactly one of these):
//   merged:  one prediction covers more than half of it and more than half of another true
//            object too (touching nuclei came out as one);
//   split:   predictions cover more than half of it together, but none alone does;
//   missed:  predictions cover at most half of it (taken for background);
//   outline: one prediction covers more than half of it, alone, yet their IoU is at most 0.5
//            (that prediction is much larger, or its outline far off).
struct MissCauses {
  long merged = 0, split = 0, missed = 0, outline = 0;
  MissCauses& operator+=(const MissCauses& o) {
    merged += o.merged, split += o.split, missed += o.missed, outline += o.outline;
    return *this;
  }
};

struct ImageScore {
  double score = 0;  // mean over thresholds of TP/(TP+FP+FN)
  std::array<int, kThresholds> tp{}, fp{}, fn{};
  int n_true = 0, n_pred = 0;
  MissCauses fn50_causes;  // the false negatives at 0.5 by cause
  double ap50 = 0, precision50 = 0, recall50 = 0, f1_50 = 0;
  double pixel_accuracy = 0, fg_iou = 0, fg_dice = 0;  // foreground = label > 0
};

// truth_labels / pred_labels: CV_32SC1 (or CV_16UC1 / CV_8UC1) instance labels of one size,
// 0 = background; labels need not be consecutive. IoUs come from a sparse overlap table built
// in one pass over the pixels.
ImageScore score_image(const cv::Mat& truth_labels, const cv::Mat& pred_labels);

struct DatasetScore {
  int n_images = 0;
  double score = 0;                               // mean of the per-image scores
  std::array<double, kThresholds> score_at{};     // mean over images of score(t)
  long tp50 = 0, fp50 = 0, fn50 = 0;              // pooled over images at t = 0.5
  double ap50 = 0, precision50 = 0, recall50 = 0, f1_50 = 0;  // from the pooled counts
  long n_true = 0, n_pred = 0;
  double pixel_accuracy = 0, fg_iou = 0, fg_dice = 0;  // means over images
  MissCauses fn50_causes;  // fn50 by cause, pooled
};

DatasetScore aggregate(const std::vector<ImageScore>& images);

}  // namespace nucseg::segment
