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
  o.classes = classes;
  o.distance_weight = train.distance_weight;
  o.flow_weight = train.flow_weight;
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

torch::Tensor class_logits(const torch::Tensor& logits, int classes) {
  if (classes <= 0 || logits.size(1) == classes) return logits;
  return logits.narrow(1, 0, classes);
}

torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& distance,
                            const LossOptions& o, const torch::Tensor& flows) {
  auto loss = segmentation_loss(class_logits(logits, o.classes), targets, o);
  if (o.classes <= 0 || logits.size(1) == o.classes) return loss;
  // The extra channels after the classes: 1 a distance head, 2 a flow head, 3 both (distance first).
  const int64_t extras = logits.size(1) - o.classes;
  if (extras > 3) throw_runtime("training loss: the network has more than 3 extra outputs");
  if (extras != 2) {
    if (!distance.defined()) throw_runtime("training loss: a distance head needs distance targets (instance labels)");
    loss = loss + o.distance_weight * torch::nn::functional::binary_cross_entropy_with_logits(
                                          logits.select(1, o.classes), distance.to(logits.dtype()));
  }
  if (extras >= 2) {
    if (!flows.defined()) throw_runtime("training loss: a flow head needs flow targets (instance labels)");
    // The channels are logits of (1 + v) / 2, as inference's sigmoid reads them: v = tanh(logit / 2).
    auto predicted = torch::tanh(logits.narrow(1, logits.size(1) - 2, 2) * 0.5);
    loss = loss + o.flow_weight * torch::mse_loss(predicted, flows.to(predicted.dtype()));
  }
  return loss;
}

}  // namespace nucseg::train
