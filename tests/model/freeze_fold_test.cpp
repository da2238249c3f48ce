// Encoder freezing (transfer learning), make_model's config rules and the folded inference form.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

using namespace nucseg::model;

namespace {

void randomise_bn_statistics(UNet& net) {
  torch::NoGradGuard no_grad;
  for (auto& b : net->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.3, 0.3);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  for (auto& p : net->named_parameters())
    if (p.key().find("bn") != std::string::npos || p.key().find("_BN") != std::string::npos) p.value().uniform_(0.5, 1.5);
}

// bfloat16 logits against float32 ones: float32 out, within bfloat16 rounding (relative
// difference < 0.05, yet not 0: bfloat16 ran), the same class on > 97% of the pixels.
void expect_bfloat16_close(const torch::Tensor& low, const torch::Tensor& ref, const std::string& what) {
  ASSERT_EQ(low.scalar_type(), torch::kFloat32) << what;
  ASSERT_EQ(low.sizes(), ref.sizes()) << what;
  const double rel = ((low - ref).abs().max() / ref.abs().max()).item<double>();
  EXPECT_LT(rel, 0.05) << what;
  EXPECT_GT(rel, 0.0) << what << ": it did not compute in bfloat16";
  const double agree = (low.argmax(1) == ref.argmax(1)).to(torch::kFloat32).mean().item<double>();
  EXPECT_GT(agree, 0.97) << what;
  std::printf("%s: max relative logit difference %.4f, argmax agreement %.4f\n", what.c_str(), rel, agree);
}

}  // namespace

TEST(Freeze, FrozenEncoderHasNoGradientsAndKeepsItsStatistics) {
  torch::manual_seed(2);
  UNet net;
  net->set_encoder_frozen(true);
  net->train();
  EXPECT_TRUE(net->encoder_frozen());
  EXPECT_TRUE(net->is_training());
  for (auto& m : net->encoder->modules()) EXPECT_FALSE(m->is_training());
  EXPECT_TRUE(net->ups[0]->bn->is_training());

  int64_t decoder = 0;
  for (auto& p : net->named_parameters())
    if (p.key().rfind("encoder.", 0) != 0) decoder += p.value().numel();
  int64_t trainable = 0;
  for (auto& p : net->trainable_parameters()) trainable += p.numel();
  EXPECT_EQ(trainable, decoder);

  auto mean_before = net->encoder->named_buffers()["bn_Conv1.running_mean"].clone();
  auto logits = net->forward(torch::rand({2, 3, 64, 64}));
  logits.mean().backward();
  EXPECT_TRUE(torch::equal(mean_before, net->encoder->named_buffers()["bn_Conv1.running_mean"]));
  for (auto& p : net->encoder->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_TRUE(net->last->weight.grad().defined());
  EXPECT_TRUE(net->ups[0]->conv->weight.grad().defined());

  net->set_encoder_frozen(false);
  EXPECT_TRUE(net->encoder->named_children()["bn_Conv1"]->is_training());
  int64_t all = 0;
  for (auto& p : net->trainable_parameters()) all += p.numel();
  EXPECT_EQ(all, 6471395);
}

TEST(MakeModel, FreezingARandomEncoderIsAConfigError) {
  nucseg::ModelConfig cfg;
  cfg.freeze_encoder = nucseg::TriState::yes;
  try {
    make_model(cfg);
    FAIL() << "expected an error";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
    EXPECT_EQ(e.context().key, "model.freeze_encoder");
  }
}

TEST(MakeModel, RandomEncoderTrainsByDefault) {
  nucseg::ModelConfig cfg;
  cfg.classes = 4;
  auto net = make_model(cfg);
  EXPECT_FALSE(net->encoder_frozen());
  EXPECT_EQ(net->options().classes, 4);
  cfg.encoder_weights = "/nonexistent/mobilenet_v2.h5";
  EXPECT_THROW(make_model(cfg), nucseg::Error);
}

TEST(Fold, FoldedModelEqualsEvalModel) {
  torch::manual_seed(9);
  // The reference computes the decoder with torch's own ConvTranspose2d; the folded form with
  // the inference path (oneDNN adjoint).
  UNet net(UNetOptions{3, Upsampling::torch, false});
  randomise_bn_statistics(net);
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 64, 96});
  auto ref = net->forward(x);
  fold_batchnorm(net);
  EXPECT_TRUE(net->folded());
  EXPECT_FALSE(net->is_training());
  EXPECT_EQ(net->options().upsampling, Upsampling::adjoint);
  auto folded = net->forward(x);
  const double rel = ((folded - ref).abs().max() / ref.abs().max()).item<double>();
  EXPECT_LT(rel, 1e-4);
  EXPECT_THROW(net->train(true), nucseg::Error);
}

// The bfloat16 decoder (infer.precision): logits within bfloat16 rounding of the float32 ones,
// the same class almost everywhere; refused before folding.
TEST(Fold, BFloat16DecoderStaysCloseToFloat32) {
  torch::manual_seed(10);
  UNet net;
  randomise_bn_statistics(net);
  EXPECT_THROW(net->set_decoder_bfloat16(true), nucseg::Error);
  fold_batchnorm(net);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 64, 96});
  auto ref = net->forward(x);
  net->set_decoder_bfloat16(true);
  EXPECT_TRUE(net->decoder_bfloat16());
  expect_bfloat16_close(net->forward(x), ref, "bfloat16 decoder");
  net->set_decoder_bfloat16(false);
  EXPECT_LT(((net->forward(x) - ref).abs().max() / ref.abs().max()).item<double>(), 1e-2);  // weights were rounded once
}

// The bfloat16 encoder (infer.precision = bfloat16 sets it with the decoder): as close to the
// float32 logits as the bfloat16 decoder, with both on still within the same bounds.
TEST(Fold, BFloat16EncoderStaysCloseToFloat32) {
  torch::manual_seed(11);
  UNet net;
  randomise_bn_statistics(net);
  EXPECT_THROW(net->set_encoder_bfloat16(true), nucseg::Error);
  fold_batchnorm(net);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 64, 96});
  auto ref = net->forward(x);
  for (bool decoder_too : {false, true}) {
    net->set_encoder_bfloat16(true);
    net->set_decoder_bfloat16(decoder_too);
    EXPECT_TRUE(net->encoder_bfloat16());
    expect_bfloat16_close(net->forward(x), ref, decoder_too ? "bfloat16 encoder and decoder" : "bfloat16 encoder");
  }
}

// model.full_res: the full-resolution stage keeps the output's shape, takes part in training
// (its parameters get gradients; the image it reads changes the logits where the decoder's
// features alone would not), and folds and runs in bfloat16 like the rest of the decoder.
TEST(FullRes, ShapesGradientsFoldAndBFloat16) {
  torch::manual_seed(12);
  UNetOptions options{3, Upsampling::torch, false, 3};
  options.full_res = 8;
  UNet net(options);
  ASSERT_TRUE(net->full_res);
  EXPECT_FALSE(net->last);
  const auto x = torch::rand({2, 3, 64, 96});
  net->train();
  auto y = net->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 6, 64, 96}));
  y.pow(2).mean().backward();
  for (auto& p : net->full_res->named_parameters())
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();

  randomise_bn_statistics(net);
  for (auto& p : net->named_parameters())
    if (p.key().find("full_res.bn") != std::string::npos) p.value().data().uniform_(0.5, 1.5);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto ref = net->forward(x);
  fold_batchnorm(net);
  const auto folded = net->forward(x);
  EXPECT_LT(((folded - ref).abs().max() / ref.abs().max()).item<double>(), 1e-4);
  net->set_decoder_bfloat16(true);
  expect_bfloat16_close(net->forward(x).slice(1, 0, 3), ref.slice(1, 0, 3), "bfloat16 decoder with full_res");
}
