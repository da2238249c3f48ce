// The training loss: pixel cross-entropy (sparse targets, as the seed's
// SparseCategoricalCrossentropy(from_logits=True)) with optional class weights, plus an
// optional soft Dice term averaged over classes.
#pragma once

#include <vector>

#include <torch/types.h>

#include "nucseg/core/config.hpp"

namespace nucseg::train {

struct LossOptions {
  std::vector<double> class_weights;  // empty: unweighted; else one per class
  double dice_weight = 0.0;

  static LossOptions from(const TrainConfig& train, int classes);  // checks the weight count
};

// logits: N x C x H x W; targets: N x H x W int64. Returns a scalar.
torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& targets, const LossOptions& options);

// 1 - mean over classes of 2|P∩T| / (|P| + |T|), with P the softmax probabilities.
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace nucseg::train
