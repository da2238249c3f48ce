#include "nucseg/train/losses.hpp"

#include <torch/torch.h>

#include "nucseg/core/error.hpp"

namespace nucseg::train {

LossOptions LossOptions::from(const TrainConfig& train, int classes) {
  if (!train.class_weights.empty() && static_cast<int>(train.class_weights.size()) != classes)
    throw_config("train.class_weights", "has " + std::to_string(train.class_weights.size()) +
                                            " weights but model.classes is " + std::to_string(classes));
  LossOptions o;
  o.class_weights = train.class_weights;
  o.dice_weight = train.dice_weight;
  return o;
}

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t classes = logits.size(1);
  auto probs = torch::softmax(logits, 1);
  auto onehot = torch::one_hot(targets, classes).permute({0, 3, 1, 2}).to(probs.dtype());
  auto dims = std::vector<int64_t>{0, 2, 3};
  auto intersection = (probs * onehot).sum(dims);
  auto cardinality = probs.sum(dims) + onehot.sum(dims);
  auto dice = (2.0 * intersection + 1.0) / (cardinality + 1.0);  // +1: a class absent from both scores 1
  return 1.0 - dice.mean();
}

torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& targets, const LossOptions& o) {
  auto options = torch::nn::functional::CrossEntropyFuncOptions();
  if (!o.class_weights.empty()) {
    if (static_cast<int64_t>(o.class_weights.size()) != logits.size(1))
      throw_config("train.class_weights", "needs one weight per class");
    options.weight(torch::tensor(o.class_weights, torch::kFloat32).to(logits.device()));
  }
  auto loss = torch::nn::functional::cross_entropy(logits, targets, options);
  if (o.dice_weight > 0) loss = loss + o.dice_weight * soft_dice_loss(logits, targets);
  return loss;
}

}  // namespace nucseg::train
