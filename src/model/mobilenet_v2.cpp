// Keras's MobileNetV2 (alpha 1.0, keras/applications/mobilenet_v2.py) up to block_16_project,
// with Keras's padding so that imported ImageNet weights reproduce Keras's activations.
#include <cmath>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::model {
namespace {

// Keras BatchNormalization(epsilon=1e-3, momentum=0.999); PyTorch's momentum is 1 - Keras's.
torch::nn::BatchNorm2d keras_bn(int channels) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-3).momentum(0.001));
}

struct BlockSpec {
  int expansion, filters, stride;
};
// The inverted residual blocks 0..16 of keras's MobileNetV2.
constexpr BlockSpec kBlocks[] = {{1, 16, 1},  {6, 24, 2},  {6, 24, 1},  {6, 32, 2},  {6, 32, 1},  {6, 32, 1},
                                 {6, 64, 2},  {6, 64, 1},  {6, 64, 1},  {6, 64, 1},  {6, 96, 1},  {6, 96, 1},
                                 {6, 96, 1},  {6, 160, 2}, {6, 160, 1}, {6, 160, 1}, {6, 320, 1}};
constexpr int kLastBlock = 16;

bool is_tap_block(int id) { return id == 1 || id == 3 || id == 6 || id == 13; }

}  // namespace

torch::Tensor pad_bottom_right(const torch::Tensor& x) { return torch::constant_pad_nd(x, {0, 1, 0, 1}); }

ConvBn MobileNetV2EncoderImpl::make_unit(const std::string& conv_name, const std::string& bn_name, int in, int out,
                                         int stride, bool depthwise, bool relu6) {
  ConvBn u;
  const int k = depthwise ? 3 : (conv_name == "Conv1" ? 3 : 1);
  // Padding is applied explicitly (TF semantics) for stride 2; stride-1 3x3 'same' is symmetric.
  const int pad = (k == 3 && stride == 1) ? 1 : 0;
  u.conv = register_module(conv_name, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                                            .stride(stride)
                                                            .padding(pad)
                                                            .groups(depthwise ? in : 1)
                                                            .bias(false)));
  // He init (fan_out, as torchvision's MobileNetV2) keeps activations at unit scale.
  torch::nn::init::kaiming_normal_(u.conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (!bn_name.empty()) u.bn = register_module(bn_name, keras_bn(out));
  u.stride = stride;
  u.padding = pad;
  u.groups = depthwise ? in : 1;
  u.relu6 = relu6;
  return u;
}

MobileNetV2EncoderImpl::MobileNetV2EncoderImpl() {
  stem_ = make_unit("Conv1", "bn_Conv1", 3, 32, 2, false, true);
  int in = 32;
  for (int id = 0; id <= kLastBlock; ++id) {
    const BlockSpec& s = kBlocks[id];
    const std::string prefix = id == 0 ? "expanded_conv_" : "block_" + std::to_string(id) + "_";
    Block b;
    b.id = id;
    const int hidden = in * s.expansion;
    if (id > 0) b.expand = make_unit(prefix + "expand", prefix + "expand_BN", in, hidden, 1, false, true);
    b.depthwise = make_unit(prefix + "depthwise", prefix + "depthwise_BN", hidden, hidden, s.stride, true, true);
    // The last tap is block_16_project itself, before its BatchNorm: that BN is not part of the model.
    b.project = make_unit(prefix + "project", id == kLastBlock ? "" : prefix + "project_BN", hidden, s.filters, 1,
                          false, false);
    b.residual = s.stride == 1 && in == s.filters;
    blocks_.push_back(std::move(b));
    in = s.filters;
  }
}

torch::Tensor MobileNetV2EncoderImpl::run(ConvBn& u, torch::Tensor x) {
  if (u.stride == 2) x = pad_bottom_right(x);
  if (folded_) {
    // Folded: the BN's bias holds the folded bias, its scale is already in the weight.
    x = torch::conv2d(x, u.conv->weight, u.bn ? u.bn->bias : torch::Tensor(), u.stride, u.padding, 1,
                      u.groups);
  } else {
    x = u.conv->forward(x);
    if (u.bn) x = u.bn->forward(x);
  }
  if (u.relu6) x = torch::hardtanh_(x, 0.0, 6.0);
  return x;
}

std::vector<torch::Tensor> MobileNetV2EncoderImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> taps;
  taps.reserve(5);
  x = run(stem_, x);
  for (Block& b : blocks_) {
    torch::Tensor in = x;
    if (b.expand.conv) {
      x = run(b.expand, x);
      if (is_tap_block(b.id)) taps.push_back(x);
    }
    x = run(b.depthwise, x);
    x = run(b.project, x);
    if (b.residual) x = x + in;
  }
  taps.push_back(x);  // block_16_project
  return taps;
}

void MobileNetV2EncoderImpl::fold_batchnorm() {
  if (folded_) return;
  torch::NoGradGuard no_grad;
  auto fold = [](ConvBn& u) {
    if (!u.bn) return;
    auto& bn = *u.bn;
    auto scale = bn.weight / torch::sqrt(bn.running_var + bn.options.eps());
    // Conv weight (Cout, Cin/g, kh, kw): scale each output channel.
    u.conv->weight.mul_(scale.view({-1, 1, 1, 1}));
    bn.bias.sub_(bn.running_mean * scale);
  };
  fold(stem_);
  for (Block& b : blocks_) {
    if (b.expand.conv) fold(b.expand);
    fold(b.depthwise);
    fold(b.project);
  }
  folded_ = true;
}

void MobileNetV2EncoderImpl::set_dtype(torch::Dtype dtype) {
  if (!folded_) throw_runtime("MobileNetV2Encoder::set_dtype: fold BatchNorm first");
  torch::NoGradGuard no_grad;
  auto cast = [dtype](ConvBn& u) {
    if (!u.conv) return;
    u.conv->weight.set_data(u.conv->weight.to(dtype));
    if (u.bn) u.bn->bias.set_data(u.bn->bias.to(dtype));
  };
  cast(stem_);
  for (Block& b : blocks_) {
    cast(b.expand);
    cast(b.depthwise);
    cast(b.project);
  }
}

}  // namespace nucseg::model
