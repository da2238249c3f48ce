#include <gtest/gtest.h>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/train/losses.hpp"

using namespace nucseg::train;

TEST(Losses, CrossEntropyMatchesTheDefinition) {
  torch::manual_seed(0);
  auto logits = torch::randn({2, 3, 4, 5});
  auto targets = torch::randint(0, 3, {2, 4, 5}, torch::kInt64);
  LossOptions o;
  auto loss = segmentation_loss(logits, targets, o);
  auto logp = torch::log_softmax(logits, 1);
  auto manual = -logp.gather(1, targets.unsqueeze(1)).mean();
  EXPECT_NEAR(loss.item<float>(), manual.item<float>(), 1e-5);
}

TEST(Losses, ClassWeightsFollowPytorchsWeightedMean) {
  torch::manual_seed(1);
  auto logits = torch::randn({1, 3, 6, 6});
  auto targets = torch::randint(0, 3, {1, 6, 6}, torch::kInt64);
  LossOptions o;
  o.class_weights = {1.0, 2.0, 5.0};
  auto loss = segmentation_loss(logits, targets, o);
  auto w = torch::tensor({1.0f, 2.0f, 5.0f}).index({targets});
  auto nll = -torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).squeeze(1);
  EXPECT_NEAR(loss.item<float>(), ((w * nll).sum() / w.sum()).item<float>(), 1e-5);
  nucseg::TrainConfig t;
  t.class_weights = {1.0, 2.0};
  EXPECT_THROW(LossOptions::from(t, 3), nucseg::Error);
}

TEST(Losses, DiceIsZeroForPerfectPredictionsAndAddsWithItsWeight) {
  auto targets = torch::randint(0, 3, {2, 8, 8}, torch::kInt64);
  auto perfect = torch::one_hot(targets, 3).permute({0, 3, 1, 2}).to(torch::kFloat32) * 50.0f;
  EXPECT_NEAR(soft_dice_loss(perfect, targets).item<float>(), 0.0f, 1e-4);
  auto wrong = torch::one_hot((targets + 1) % 3, 3).permute({0, 3, 1, 2}).to(torch::kFloat32) * 50.0f;
  EXPECT_GT(soft_dice_loss(wrong, targets).item<float>(), 0.9f);
  auto logits = torch::randn({2, 3, 8, 8}, torch::requires_grad());
  LossOptions ce, both;
  both.dice_weight = 0.5;
  auto expected = segmentation_loss(logits, targets, ce) + 0.5 * soft_dice_loss(logits, targets);
  auto got = segmentation_loss(logits, targets, both);
  EXPECT_NEAR(got.item<float>(), expected.item<float>(), 1e-5);
  got.backward();
  EXPECT_GT(logits.grad().abs().sum().item<float>(), 0.0f);
}

// A network with a distance head: the class channels get the segmentation loss, the extra
// channel the weighted binary cross-entropy against the distance targets; both reach the
// gradient. Without targets the head is an error, without the head the targets are ignored.
TEST(Losses, DistanceHeadAddsItsWeightedBinaryCrossEntropy) {
  torch::manual_seed(2);
  auto logits = torch::randn({2, 4, 6, 6}, torch::requires_grad());
  auto targets = torch::randint(0, 3, {2, 6, 6}, torch::kInt64);
  auto distance = torch::rand({2, 6, 6});
  nucseg::TrainConfig t;
  t.distance_weight = 0.7;
  const LossOptions o = LossOptions::from(t, 3);
  auto got = training_loss(logits, targets, distance, o);
  auto p = torch::sigmoid(logits.select(1, 3));
  auto bce = -(distance * torch::log(p) + (1 - distance) * torch::log(1 - p)).mean();
  auto expected = segmentation_loss(logits.narrow(1, 0, 3), targets, o) + 0.7 * bce;
  EXPECT_NEAR(got.item<float>(), expected.item<float>(), 1e-5);
  got.backward();
  EXPECT_GT(logits.grad().select(1, 3).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(logits.grad().narrow(1, 0, 3).abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(training_loss(logits, targets, torch::Tensor(), o), nucseg::Error);
  auto plain = torch::randn({2, 3, 6, 6});
  EXPECT_NEAR(training_loss(plain, targets, distance, o).item<float>(), segmentation_loss(plain, targets, o).item<float>(),
              1e-6);
}

// A flow head: the last two channels' tanh(logit / 2) against the flow targets by mean squared
// error, weighted; after a distance head's channel when there is one (5 + 1 channels).
TEST(Losses, FlowHeadAddsItsWeightedSquaredError) {
  torch::manual_seed(3);
  auto targets = torch::randint(0, 3, {2, 6, 6}, torch::kInt64);
  auto distance = torch::rand({2, 6, 6});
  auto flows = torch::rand({2, 2, 6, 6}) * 2 - 1;
  nucseg::TrainConfig t;
  t.distance_weight = 0.7;
  t.flow_weight = 3.0;
  const LossOptions o = LossOptions::from(t, 3);
  auto logits = torch::randn({2, 5, 6, 6}, torch::requires_grad());
  auto got = training_loss(logits, targets, torch::Tensor(), o, flows);
  auto v = torch::tanh(logits.narrow(1, 3, 2) / 2);
  auto expected = segmentation_loss(logits.narrow(1, 0, 3), targets, o) + 3.0 * (v - flows).pow(2).mean();
  EXPECT_NEAR(got.item<float>(), expected.item<float>(), 1e-5);
  got.backward();
  EXPECT_GT(logits.grad().narrow(1, 3, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(training_loss(logits, targets, distance, o), nucseg::Error);  // no flow targets

  auto both = torch::randn({2, 6, 6, 6});
  auto p = torch::sigmoid(both.select(1, 3));
  auto bce = -(distance * torch::log(p) + (1 - distance) * torch::log(1 - p)).mean();
  auto vb = torch::tanh(both.narrow(1, 4, 2) / 2);
  auto expected_both =
      segmentation_loss(both.narrow(1, 0, 3), targets, o) + 0.7 * bce + 3.0 * (vb - flows).pow(2).mean();
  EXPECT_NEAR(training_loss(both, targets, distance, o, flows).item<float>(), expected_both.item<float>(), 1e-5);
}
