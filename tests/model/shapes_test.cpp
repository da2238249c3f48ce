// Shapes of every encoder tap and of the logits, and the parameter count of the seed's model.
#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/model/model_info.hpp"
#include "nucseg/model/unet.hpp"

using namespace nucseg::model;

namespace {

int64_t count(const std::vector<torch::Tensor>& ps) {
  int64_t n = 0;
  for (const auto& p : ps) n += p.numel();
  return n;
}

}  // namespace

TEST(ModelShapes, TapsAndOutputForSeveralSizes) {
  torch::manual_seed(1);
  UNet net(UNetOptions{3});
  net->eval();
  torch::NoGradGuard no_grad;
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{64, 64}, {96, 160}, {128, 128}}) {
    auto x = torch::rand({2, 3, h, w});
    auto taps = net->encoder_taps(x);
    ASSERT_EQ(taps.size(), encoder_taps_info.size());
    for (size_t i = 0; i < taps.size(); ++i) {
      const auto& info = encoder_taps_info[i];
      EXPECT_EQ(taps[i].sizes(), (std::vector<int64_t>{2, info.channels, h / info.stride, w / info.stride}))
          << info.keras_layer << " at " << h << "x" << w;
    }
    auto y = net->forward(x);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, h, w}));
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(ModelShapes, ClassesOption) {
  UNet net(UNetOptions{5});
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::rand({1, 3, 32, 64})).sizes(), (std::vector<int64_t>{1, 5, 32, 64}));
}

// model.full_res = 16: the same output; instead of the seed's last layer (160 -> 6 channels,
// 3 x 3 transposed, bias) an upsampling 160 -> 16 and a 3 x 3 convolution (16 + 3) -> 16, each
// with BatchNorm, and a 1 x 1 convolution 16 -> 6 with bias.
TEST(ModelShapes, FullResolutionStage) {
  UNetOptions options{3, Upsampling::adjoint, false, 3};
  UNet plain(options);
  options.full_res = 16;
  UNet full(options);
  full->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(full->forward(torch::rand({1, 3, 64, 96})).sizes(), (std::vector<int64_t>{1, 6, 64, 96}));
  const int64_t last = 160 * 6 * 9 + 6;
  const int64_t stage = 160 * 16 * 9 + 2 * 16 + (16 + 3) * 16 * 9 + 2 * 16 + 16 * 6 + 6;
  EXPECT_EQ(count(full->parameters()) - count(plain->parameters()), stage - last);
}

// model.decoder_width scales the pix2pix filters (512, 256, 128, 64), rounded, at least 8.
TEST(ModelShapes, DecoderWidth) {
  for (auto [width, filters] : std::vector<std::pair<double, std::vector<int64_t>>>{
           {0.5, {256, 128, 64, 32}}, {0.3, {154, 77, 38, 19}}, {0.125, {64, 32, 16, 8}}}) {
    UNetOptions options;
    options.decoder_width = width;
    UNet net(options);
    ASSERT_EQ(net->ups.size(), filters.size());
    for (size_t i = 0; i < filters.size(); ++i) EXPECT_EQ(net->ups[i]->conv->weight.size(1), filters[i]) << width;
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(torch::rand({1, 3, 64, 96})).sizes(), (std::vector<int64_t>{1, 3, 64, 96})) << width;
  }
}

TEST(ModelShapes, RejectsSidesNotMultipleOf32) {
  UNet net;
  EXPECT_THROW(net->forward(torch::rand({1, 3, 48, 64})), nucseg::Error);
  EXPECT_THROW(net->forward(torch::rand({1, 1, 64, 64})), nucseg::Error);
}

TEST(ModelShapes, ParameterCountMatchesTheTutorialModel) {
  UNet net;
  // The TF tutorial's model has 6,504,227 Keras weights: these parameters plus the 32,832
  // BatchNorm moving statistics. The peer (peer_unet.py) reports 6,884,195 because it also
  // registers torchvision's unused 320->1280 Conv_1 with its BN (412,160) and the BN after
  // block_16_project (640), which the tap block_16_project precedes.
  EXPECT_EQ(count(net->parameters()), 6471395);
  int64_t stats = 0;
  for (auto& b : net->named_buffers())
    if (b.key().find("running_") != std::string::npos) stats += b.value().numel();
  EXPECT_EQ(count(net->parameters()) + stats, 6504227);
  EXPECT_EQ(count(net->parameters()) + 412160 + 640, 6884195);
}

TEST(ModelShapes, SubmodulesCarryKerasNames) {
  UNet net;
  auto modules = net->encoder->named_children();
  for (const char* name : {"Conv1", "bn_Conv1", "expanded_conv_depthwise", "expanded_conv_depthwise_BN",
                           "expanded_conv_project_BN", "block_1_expand", "block_1_expand_BN", "block_13_depthwise",
                           "block_16_project"})
    EXPECT_TRUE(modules.contains(name)) << name;
  EXPECT_FALSE(modules.contains("block_16_project_BN"));
  EXPECT_FALSE(modules.contains("Conv_1"));
}

TEST(ModelShapes, RandomInitIsSound) {
  torch::manual_seed(3);
  UNet net;
  for (auto& p : net->encoder->named_parameters()) {
    if (p.key().find("_BN.weight") != std::string::npos || p.key() == "bn_Conv1.weight")
      EXPECT_TRUE(torch::all(p.value() == 1).item<bool>()) << p.key();
    if (p.key().find("_BN.bias") != std::string::npos) EXPECT_TRUE(torch::all(p.value() == 0).item<bool>()) << p.key();
  }
  // He init: a 1x1 expand conv's weights have variance ~ 2 / fan_out.
  auto w = net->encoder->named_parameters()["block_5_expand.weight"];
  EXPECT_NEAR(w.var().item<double>(), 2.0 / 192.0, 0.2 * 2.0 / 192.0);
  // Activations stay at a sane scale through the untrained network.
  net->eval();
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::rand({2, 3, 64, 64}));
  const double s = y.std().item<double>();
  EXPECT_GT(s, 1e-3);
  EXPECT_LT(s, 1e3);
}
