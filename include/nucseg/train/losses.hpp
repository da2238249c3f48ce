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
  int classes = 0;               // class channels of the logits; 0: all of them
  double distance_weight = 1.0;  // the distance head's term (training_loss)
  double flow_weight = 5.0;      // the flow head's term (training_loss)

  static LossOptions from(const TrainConfig& train, int classes);  // checks the weight count
};

// logits: N x C x H x W; targets: N x H x W int64. Returns a scalar.
torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& targets, const LossOptions& options);

// The class channels of `logits` (N x C x H x W): the first `classes`, all when classes <= 0.
torch::Tensor class_logits(const torch::Tensor& logits, int classes);

// What a training step minimises: segmentation_loss on the class channels, plus, for a network
// with a distance head (one channel after the classes), distance_weight x the binary
// cross-entropy of that channel's logit against `distance` (N x H x W, data::distance_targets),
// plus, for a network with a flow head (the last two channels, after the distance head's when
// there is one), flow_weight x the mean squared error of tanh(logit / 2) against `flows`
// (N x 2 x H x W, data::flow_targets). A target may be undefined for a network without its
// head; with the head, Error(runtime).
torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& distance,
                            const LossOptions& options, const torch::Tensor& flows = torch::Tensor());

// 1 - mean over classes of 2|P∩T| / (|P| + |T|), with P the softmax probabilities.
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace nucseg::train
