// The building blocks: sub-pixel, phase and adjoint (custom autograd) transposed convolutions ==
// torch's ConvTranspose2d (values and gradients), and TF 'same' padding on the stride-2 layers.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

using namespace nucseg::model;

namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LT((a - b).abs().max().item<double>(), tol * scale) << what;
}

// `to` gets `from`'s parameter values (same architecture, any upsampling or precision).
void copy_parameters(UNet& from, UNet& to) {
  torch::NoGradGuard no_grad;
  auto source = from->named_parameters();
  for (auto& p : to->named_parameters()) p.value().copy_(source[p.key()]);
}

// One training-mode forward and backward of cross-entropy on (x, y); returns the loss.
double train_step_loss(UNet& net, const torch::Tensor& x, const torch::Tensor& y) {
  net->train();
  auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
  loss.backward();
  return loss.item<double>();
}

}  // namespace

TEST(SubpixelTransposedConv, EqualsConvTranspose2dWithGradients) {
  torch::manual_seed(7);
  struct Case {
    int64_t n, cin, cout, h, w;
    bool bias;
  };
  // Output channels in both of the adjoint mode's ranges: GEMM (<= 16) and oneDNN (above).
  for (const Case& c : {Case{2, 5, 4, 6, 7, true}, Case{1, 8, 3, 4, 4, false}, Case{3, 16, 12, 5, 3, true},
                        Case{2, 24, 20, 5, 6, false}, Case{2, 7, 130, 4, 8, true}, Case{1, 9, 128, 3, 5, false}}) {
    auto x = torch::randn({c.n, c.cin, c.h, c.w}, torch::requires_grad());
    auto w = torch::randn({c.cin, c.cout, 3, 3}, torch::requires_grad());
    auto b = c.bias ? torch::randn({c.cout}, torch::requires_grad()) : torch::Tensor();
    auto up = torch::randn({c.n, c.cout, 2 * c.h, 2 * c.w});  // a non-uniform upstream gradient

    auto ref = torch::conv_transpose2d(x, w, b, 2, 1, 1);
    std::vector<torch::Tensor> inputs{x, w};
    if (c.bias) inputs.push_back(b);
    auto g_ref = torch::autograd::grad({ref}, inputs, {up});
    for (auto mode : {Upsampling::subpixel, Upsampling::phases, Upsampling::adjoint}) {
      for (bool nhwc : {false, true}) {
        const std::string what = std::string(mode == Upsampling::phases    ? "phases"
                                             : mode == Upsampling::adjoint ? "adjoint"
                                                                           : "subpixel") +
                                 (nhwc ? " NHWC " : " ") + std::to_string(c.cout) + " ";
        auto xin = nhwc ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
        auto ours = conv_transpose_k3s2(xin, w, b, mode);
        expect_close(ours, ref, 1e-5, what + "forward");
        auto g_ours = torch::autograd::grad({ours}, inputs, {up});
        expect_close(g_ours[0], g_ref[0], 1e-5, what + "grad x");
        expect_close(g_ours[1], g_ref[1], 1e-5, what + "grad w");
        if (c.bias) expect_close(g_ours[2], g_ref[2], 1e-5, what + "grad b");
      }
    }
  }
}

// Without autograd (inference) the adjoint mode runs oneDNN's forward at every channel count.
TEST(SubpixelTransposedConv, AdjointForwardWithoutGradientsEqualsConvTranspose2d) {
  torch::manual_seed(8);
  torch::NoGradGuard no_grad;
  for (int64_t cout : {3, 20, 64, 130}) {
    for (bool bias : {false, true}) {
      auto x = torch::randn({2, 9, 5, 7});
      auto w = torch::randn({9, cout, 3, 3});
      auto b = bias ? torch::randn({cout}) : torch::Tensor();
      const std::string what = "cout " + std::to_string(cout) + (bias ? " bias" : "");
      expect_close(conv_transpose_k3s2(x, w, b, Upsampling::adjoint), torch::conv_transpose2d(x, w, b, 2, 1, 1), 1e-5,
                   what);
    }
  }
}

TEST(SubpixelTransposedConv, ModelMatchesTorchTransposedConvolutions) {
  torch::manual_seed(11);
  UNet ref(UNetOptions{3, Upsampling::torch, false});
  ref->eval();
  auto x = torch::rand({1, 3, 64, 96});
  torch::NoGradGuard no_grad;
  auto expected = ref->forward(x);
  for (auto opt : {UNetOptions{3, Upsampling::subpixel, false}, UNetOptions{3, Upsampling::phases, true},
                   UNetOptions{3, Upsampling::adjoint, false}}) {
    UNet a(opt);
    auto pr = ref->named_parameters();
    for (auto& p : a->named_parameters()) p.value().copy_(pr[p.key()]);
    a->eval();
    expect_close(a->forward(x), expected, 1e-4, "whole model");
  }
}

// A training step's loss and every parameter gradient: the adjoint decoder (the training
// default) against torch's ConvTranspose2d, same parameters, BatchNorm in training mode.
TEST(AdjointTransposedConv, TrainingGradientsMatchTorch) {
  torch::manual_seed(13);
  UNet ref(UNetOptions{3, Upsampling::torch, false});
  UNet ours(UNetOptions{3, Upsampling::adjoint, false});
  copy_parameters(ref, ours);
  auto x = torch::rand({2, 3, 64, 64});
  auto y = torch::randint(0, 3, {2, 64, 64}, torch::kLong);
  const double loss_ref = train_step_loss(ref, x, y);
  EXPECT_NEAR(train_step_loss(ours, x, y), loss_ref, 1e-4 * loss_ref);
  auto gr = ref->named_parameters();
  // Some gradients are zero in exact arithmetic (a BatchNorm bias followed by a training-mode
  // BatchNorm): their float noise is judged against the model's largest gradient / 1000.
  double largest = 0;
  for (auto& p : ref->parameters()) largest = std::max(largest, p.grad().abs().max().item<double>());
  ASSERT_GT(largest, 0.0);
  int compared = 0;
  for (auto& p : ours->named_parameters()) {
    const auto& g_ref = gr[p.key()].grad();
    ASSERT_TRUE(g_ref.defined() && p.value().grad().defined()) << p.key();
    const double scale = std::max(g_ref.abs().max().item<double>(), 1e-3 * largest);
    EXPECT_LT((p.value().grad() - g_ref).abs().max().item<double>(), 1e-4 * scale) << p.key();
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(ref->parameters().size()));
}

// train.precision = bfloat16: the decoder's transposed convolutions multiply bfloat16 copies of
// their operands. A training step's loss and gradients stay close to float32's but differ from
// them: the bfloat16 path ran. bfloat16 keeps 8 significant bits (0.4%); behind training-mode
// BatchNorm, whose backward subtracts the gradient's mean and its projection on the input, the
// rounding of large terms shows in small differences: up to 12% of a gradient's norm at random
// initialisation (2026-11-29), so 25% is allowed (a gradient gone wrong is off by ~100%).
TEST(MixedBfloat16, TrainingStepCloseToFloat32) {
  torch::manual_seed(17);
  UNet f32(UNetOptions{3, Upsampling::adjoint, false});
  UNet mixed(UNetOptions{3, Upsampling::adjoint, false});
  copy_parameters(f32, mixed);
  mixed->set_mixed_bfloat16(true);
  EXPECT_TRUE(mixed->mixed_bfloat16());
  auto x = torch::rand({4, 3, 64, 64});
  auto y = torch::randint(0, 3, {4, 64, 64}, torch::kLong);
  const double loss_f = train_step_loss(f32, x, y);
  const double loss_m = train_step_loss(mixed, x, y);
  EXPECT_NEAR(loss_m, loss_f, 1e-3 * loss_f);
  double largest = 0;
  for (auto& p : f32->parameters()) largest = std::max(largest, p.grad().norm().item<double>());
  ASSERT_GT(largest, 0.0);
  auto gf = f32->named_parameters();
  double worst = 0, decoder_change = 0;
  for (auto& p : mixed->named_parameters()) {
    const auto& g_ref = gf[p.key()].grad();
    ASSERT_TRUE(g_ref.defined() && p.value().grad().defined()) << p.key();
    const double scale = std::max(g_ref.norm().item<double>(), 1e-3 * largest);
    const double rel = (p.value().grad() - g_ref).norm().item<double>() / scale;
    worst = std::max(worst, rel);
    if (p.key().rfind("up", 0) == 0 && p.key().find("conv") != std::string::npos)
      decoder_change = std::max(decoder_change, rel);
    EXPECT_LT(rel, 0.25) << p.key();
  }
  EXPECT_GT(decoder_change, 1e-4) << "the decoder's gradients are float32's: bfloat16 did not run";
  std::printf("bfloat16 products: loss %.6f vs %.6f, largest relative gradient difference %.4f\n", loss_m, loss_f,
              worst);
}

TEST(MixedBfloat16, NeedsTheAdjointUpsampling) {
  UNet net(UNetOptions{3, Upsampling::torch, false});
  EXPECT_THROW(net->set_mixed_bfloat16(true), nucseg::Error);
  net->set_mixed_bfloat16(false);
  EXPECT_FALSE(net->mixed_bfloat16());
}

TEST(TfPadding, StrideTwoDepthwiseIsPadBottomRightThenValid) {
  torch::manual_seed(5);
  UNet net;
  net->eval();
  torch::NoGradGuard no_grad;
  auto children = net->encoder->named_children();
  auto conv = children["block_1_depthwise"]->as<torch::nn::Conv2d>();
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->options.stride()->at(0), 2);
  auto x = torch::randn({2, 96, 8, 10});
  // Reference: Keras ZeroPadding2D(((0, 1), (0, 1))) then a 'valid' depthwise convolution.
  auto padded = torch::zeros({2, 96, 9, 11});
  padded.slice(2, 0, 8).slice(3, 0, 10).copy_(x);
  auto ref = torch::conv2d(padded, conv->weight, torch::Tensor(), std::vector<int64_t>{2, 2}, std::vector<int64_t>{0, 0},
                           std::vector<int64_t>{1, 1}, 96);
  auto ours = conv->forward(pad_bottom_right(x));
  ASSERT_EQ(ours.sizes(), (std::vector<int64_t>{2, 96, 4, 5}));
  EXPECT_TRUE(torch::allclose(ours, ref, 1e-5, 1e-6));
  // The output pixel (0,0) sees input rows/cols 0..2 (TF), not -1..1 (symmetric padding).
  auto one = (x.index({0, 0}).slice(0, 0, 3).slice(1, 0, 3) * conv->weight.index({0, 0})).sum();
  EXPECT_NEAR(ours.index({0, 0, 0, 0}).item<double>(), one.item<double>(), 1e-4);
}

// An independent eval-mode reference of Keras's MobileNetV2 written with explicit ZeroPadding,
// reading the model's parameters by their Keras names: every tap must agree.
TEST(TfPadding, EncoderEqualsExplicitKerasReference) {
  torch::manual_seed(6);
  UNet net;
  net->eval();
  torch::NoGradGuard no_grad;
  // Non-trivial BatchNorm statistics so that a mis-assigned BN would show.
  for (auto& b : net->encoder->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  auto P = net->encoder->named_parameters();
  auto B = net->encoder->named_buffers();
  auto bn = [&](const torch::Tensor& x, const std::string& n) {
    return torch::batch_norm(x, P[n + ".weight"], P[n + ".bias"], B[n + ".running_mean"], B[n + ".running_var"],
                             false, 0.0, 1e-3, false);
  };
  auto zero_pad = [](const torch::Tensor& x) {
    auto p = torch::zeros({x.size(0), x.size(1), x.size(2) + 1, x.size(3) + 1});
    p.slice(2, 0, x.size(2)).slice(3, 0, x.size(3)).copy_(x);
    return p;
  };
  auto relu6 = [](const torch::Tensor& x) { return torch::clamp(x, 0, 6); };
  auto input = torch::rand({2, 3, 64, 96});
  auto x = input * 2 - 1;
  x = relu6(bn(torch::conv2d(zero_pad(x), P["Conv1.weight"], torch::Tensor(), {2, 2}), "bn_Conv1"));
  const int c[] = {16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320};
  const int s[] = {1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};
  std::vector<torch::Tensor> taps;
  int in = 32;
  for (int id = 0; id <= 16; ++id) {
    const std::string pre = id == 0 ? "expanded_conv_" : "block_" + std::to_string(id) + "_";
    auto h = x;
    if (id > 0) {
      h = relu6(bn(torch::conv2d(h, P[pre + "expand.weight"]), pre + "expand_BN"));
      if (id == 1 || id == 3 || id == 6 || id == 13) taps.push_back(h);
    }
    const int64_t groups = h.size(1);
    const std::vector<int64_t> one{1, 1}, two{2, 2}, zero{0, 0};
    h = s[id] == 2 ? torch::conv2d(zero_pad(h), P[pre + "depthwise.weight"], torch::Tensor(), two, zero, one, groups)
                   : torch::conv2d(h, P[pre + "depthwise.weight"], torch::Tensor(), one, one, one, groups);
    h = relu6(bn(h, pre + "depthwise_BN"));
    h = torch::conv2d(h, P[pre + "project.weight"]);
    if (id == 16) {
      taps.push_back(h);  // block_16_project: before its BatchNorm
      break;
    }
    h = bn(h, pre + "project_BN");
    x = (s[id] == 1 && in == c[id]) ? x + h : h;
    in = c[id];
  }
  ASSERT_EQ(taps.size(), 5u);
  auto ours = net->encoder_taps(input);
  for (size_t i = 0; i < 5; ++i) expect_close(ours[i], taps[i], 1e-4, "tap " + std::to_string(i));
}
