// The decoder's transposed convolutions. Debian's LibTorch runs ConvTranspose2d through
// im2col/col2im (slow backward, pathological at few output channels); the same operator is
// a 2x2 convolution producing the four output phases, which runs on oneDNN.
#include <cmath>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::model {
namespace {

// For output parity a and window offset d (0: row m, 1: row m+1) the tap of the 3x3
// transposed kernel that reaches it; 3 names an appended zero tap.
//   even rows: x[m] * W[1];  odd rows: x[m] * W[2] + x[m+1] * W[0]   (p=1, op=1)
torch::Tensor phase_taps() {
  return torch::tensor(std::vector<int64_t>{1, 3, 2, 0}, torch::kLong);
}

// (Cin, Cout, 3, 3) transposed kernel -> (Cout*4, Cin, 2, 2) kernel; output channel co*4+a*2+b
// is the phase pixel_shuffle puts at (2i+a, 2j+b).
torch::Tensor subpixel_weight(const torch::Tensor& w) {
  const int64_t cin = w.size(0), cout = w.size(1);
  static const torch::Tensor taps = phase_taps();
  auto wp = torch::constant_pad_nd(w, {0, 1, 0, 1});
  auto k = wp.index_select(2, taps).index_select(3, taps);  // (ci, co, a*2+dy, b*2+dx)
  return k.reshape({cin, cout, 2, 2, 2, 2}).permute({1, 2, 4, 0, 3, 5}).reshape({cout * 4, cin, 2, 2});
}

torch::Tensor subpixel(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  torch::Tensor b;
  if (bias.defined()) b = bias.repeat_interleave(4);
  return torch::pixel_shuffle(torch::conv2d(pad_bottom_right(x), subpixel_weight(w), b), 2);
}

// The four phases as separate convolutions over exactly their taps (9 per output quad):
//   (0,0): W11 | (0,1): [W12 W10] | (1,0): [W21; W01] | (1,1): [W22 W20; W02 W00]
// over the input window starting at (m, n), zero beyond the bottom/right edge.
torch::Tensor phases(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  using torch::indexing::Slice;
  static const torch::Tensor two_zero = torch::tensor(std::vector<int64_t>{2, 0}, torch::kLong);
  const int64_t h = x.size(2), wd = x.size(3);
  auto wt = w.transpose(0, 1);  // (Cout, Cin, 3, 3)
  auto xp = pad_bottom_right(x);
  auto p00 = torch::conv2d(x, wt.slice(2, 1, 2).slice(3, 1, 2), bias);
  auto p01 = torch::conv2d(xp.slice(2, 0, h), wt.slice(2, 1, 2).index_select(3, two_zero), bias);
  auto p10 = torch::conv2d(xp.slice(3, 0, wd), wt.index_select(2, two_zero).slice(3, 1, 2), bias);
  auto p11 = torch::conv2d(xp, wt.index_select(2, two_zero).index_select(3, two_zero), bias);
  // (N, Cout, 4, H, W) viewed as channel co*4 + a*2 + b: the order pixel_shuffle interleaves.
  auto y = torch::stack({p00, p01, p10, p11}, 2).reshape({x.size(0), w.size(1) * 4, h, wd});
  return torch::pixel_shuffle(y, 2);
}

}  // namespace

torch::Tensor conv_transpose_k3s2(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                                  Upsampling mode) {
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3, "conv_transpose_k3s2: 3x3 kernel expected");
  switch (mode) {
    case Upsampling::torch: return torch::conv_transpose2d(x, w, bias, 2, 1, 1);
    case Upsampling::subpixel: return subpixel(x, w, bias);
    case Upsampling::adjoint: return conv_transpose_k3s2_adjoint(x, w, bias);
    case Upsampling::phases: break;
  }
  return phases(x, w, bias);
}

UpsampleImpl::UpsampleImpl(int in, int out, Upsampling mode) : mode_(mode) {
  conv = register_module(
      "conv", torch::nn::ConvTranspose2d(
                  torch::nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1).bias(false)));
  // He init for a ReLU layer; each output pixel sums in*9/4 taps on average.
  torch::NoGradGuard no_grad;
  conv->weight.normal_(0.0, std::sqrt(2.0 / (in * 9.0 / 4.0)));
  // pix2pix uses Keras's default BatchNormalization: epsilon 1e-3, momentum 0.99.
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(1e-3).momentum(0.01)));
}

torch::Tensor UpsampleImpl::forward(torch::Tensor x) {
  if (folded_) return conv_transpose_k3s2(x, conv->weight, folded_bias_, mode_).relu_();
  x = mode_ == Upsampling::adjoint ? conv_transpose_k3s2_adjoint(x, conv->weight, {}, bf16_products_)
                                    : conv_transpose_k3s2(x, conv->weight, {}, mode_);
  return bn->forward(x).relu_();
}

void UpsampleImpl::set_dtype(torch::Dtype dtype) {
  if (!folded_) throw_runtime("Upsample::set_dtype: fold BatchNorm first");
  torch::NoGradGuard no_grad;
  conv->weight.set_data(conv->weight.to(dtype));
  folded_bias_ = folded_bias_.to(dtype);
}

void UpsampleImpl::fold_batchnorm() {
  if (folded_) return;
  torch::NoGradGuard no_grad;
  auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  conv->weight.mul_(scale.view({1, -1, 1, 1}));  // transposed layout: Cout is dim 1
  folded_bias_ = bn->bias - bn->running_mean * scale;
  folded_ = true;
}

}  // namespace nucseg::model
