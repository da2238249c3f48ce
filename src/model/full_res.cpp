// The full-resolution stage (model.full_res): see FullResImpl in unet.hpp.
#include <cmath>

#include "nucseg/core/error.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::model {

FullResImpl::FullResImpl(int in, int channels, int outputs, Upsampling mode) {
  if (channels < 1) throw_runtime("FullRes: channels must be positive, got " + std::to_string(channels));
  up = register_module("up", Upsample(in, channels, mode));
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels + 3, channels, 3)
                                                       .padding(1)
                                                       .bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-3).momentum(0.01)));
  head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, outputs, 1).bias(true)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
  // Logits layer: unit-gain init (no activation follows), zero bias, as the seed's last layer.
  head->weight.normal_(0.0, std::sqrt(1.0 / channels));
  head->bias.zero_();
}

torch::Tensor FullResImpl::forward(const torch::Tensor& y, const torch::Tensor& image) {
  auto z = torch::cat({up->forward(y), image.to(y.scalar_type())}, 1);
  if (folded_) {
    z = torch::conv2d(z, conv->weight, folded_bias_, 1, 1).relu_();
  } else {
    z = bn->forward(conv->forward(z)).relu_();
  }
  return head->forward(z);
}

void FullResImpl::fold_batchnorm() {
  if (folded_) return;
  up->fold_batchnorm();
  torch::NoGradGuard no_grad;
  auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  conv->weight.mul_(scale.view({-1, 1, 1, 1}));
  folded_bias_ = bn->bias - bn->running_mean * scale;
  folded_ = true;
}

void FullResImpl::set_dtype(torch::Dtype dtype) {
  if (!folded_) throw_runtime("FullRes::set_dtype: fold BatchNorm first");
  up->set_dtype(dtype);
  torch::NoGradGuard no_grad;
  conv->weight.set_data(conv->weight.to(dtype));
  folded_bias_ = folded_bias_.to(dtype);
  head->weight.set_data(head->weight.to(dtype));
  head->bias.set_data(head->bias.to(dtype));
}

}  // namespace nucseg::model
