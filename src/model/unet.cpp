// The U-Net of the TensorFlow segmentation tutorial: MobileNetV2 taps + pix2pix decoder.
#include <algorithm>
#include <cmath>

#include "nucseg/core/error.hpp"
#include "nucseg/model/model_info.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::model {

UNetImpl::UNetImpl(UNetOptions options) : options_(options) {
  if (options_.classes < 1) throw_config("model.classes", "must be at least 1");
  if (options_.extra_outputs < 0 || options_.extra_outputs > 3)
    throw_runtime("UNet: extra_outputs must lie in 0..3, got " + std::to_string(options_.extra_outputs));
  encoder = register_module("encoder", MobileNetV2Encoder());
  // Decoder input channels: the previous stage's output concatenated with the skip tap.
  int in = encoder_taps_info[4].channels;
  for (size_t i = 0; i < decoder_filters.size(); ++i) {
    const int out = std::max(8, static_cast<int>(std::lround(decoder_filters[i] * options_.decoder_width)));
    ups.push_back(register_module("up" + std::to_string(i + 1), Upsample(in, out, options_.upsampling)));
    in = out + encoder_taps_info[3 - i].channels;
  }
  if (options_.full_res > 0) {
    full_res = register_module("full_res", FullRes(in, options_.full_res, outputs(), options_.upsampling));
    return;
  }
  last = register_module("last", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in, outputs(), 3)
                                                                .stride(2)
                                                                .padding(1)
                                                                .output_padding(1)
                                                                .bias(true)));
  torch::NoGradGuard no_grad;
  // Logits layer: unit-gain init (no activation follows), zero bias.
  last->weight.normal_(0.0, std::sqrt(1.0 / (in * 9.0 / 4.0)));
  last->bias.zero_();
}

void UNetImpl::check_input(const torch::Tensor& x) const {
  if (x.dim() != 4 || x.size(1) != 3 || !valid_input_size(static_cast<int>(x.size(2)), static_cast<int>(x.size(3))))
    throw_data("", "model input must be N x 3 x H x W with H and W multiples of " + std::to_string(input_multiple) +
                       ", got " + c10::str(x.sizes()));
}

std::vector<torch::Tensor> UNetImpl::encoder_taps(torch::Tensor x) {
  check_input(x);
  // Keras's MobileNetV2 preprocessing: x/127.5 - 1 on 0..255, i.e. 2x - 1 on [0,1].
  x = x * 2.0 - 1.0;
  // Channels-last input makes every later activation NHWC (operators keep the layout).
  if (options_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  if (encoder_bf16_) x = x.to(torch::kBFloat16);
  if (frozen_) {
    // Nothing upstream of a frozen encoder needs gradients: skip recording its graph.
    torch::NoGradGuard no_grad;
    return encoder->forward(x);
  }
  return encoder->forward(x);
}

torch::Tensor UNetImpl::forward(torch::Tensor x) {
  auto taps = encoder_taps(x);
  const auto decoder_dtype = decoder_bf16_ ? torch::kBFloat16 : torch::kFloat32;
  auto decoder_input = [decoder_dtype](const torch::Tensor& t) { return t.to(decoder_dtype); };
  torch::Tensor y = decoder_input(taps[4]);
  for (size_t i = 0; i < ups.size(); ++i) y = torch::cat({ups[i]->forward(y), decoder_input(taps[3 - i])}, 1);
  auto logits = full_res ? full_res->forward(y, x * 2.0 - 1.0)
                         : conv_transpose_k3s2(y, last->weight, last->bias, options_.upsampling);
  return decoder_bf16_ ? logits.to(torch::kFloat32) : logits;
}

void UNetImpl::set_decoder_bfloat16(bool on) {
  if (on == decoder_bf16_) return;
  if (!folded_) throw_runtime("a bfloat16 decoder is for the folded inference form only (fold BatchNorm first)");
  const auto dtype = on ? torch::kBFloat16 : torch::kFloat32;
  for (auto& up : ups) up->set_dtype(dtype);
  if (full_res) {
    full_res->set_dtype(dtype);
  } else {
    torch::NoGradGuard no_grad;
    last->weight.set_data(last->weight.to(dtype));
    last->bias.set_data(last->bias.to(dtype));
  }
  decoder_bf16_ = on;
}

void UNetImpl::set_encoder_bfloat16(bool on) {
  if (on == encoder_bf16_) return;
  if (!folded_) throw_runtime("a bfloat16 encoder is for the folded inference form only (fold BatchNorm first)");
  encoder->set_dtype(on ? torch::kBFloat16 : torch::kFloat32);
  encoder_bf16_ = on;
}

void UNetImpl::set_mixed_bfloat16(bool on) {
  if (on && options_.upsampling != Upsampling::adjoint)
    throw_runtime("bfloat16 training needs the adjoint upsampling (the training default)");
  for (auto& up : ups) up->set_bfloat16_products(on);
  if (full_res) full_res->up->set_bfloat16_products(on);
  mixed_bf16_ = on;
}

void UNetImpl::set_encoder_frozen(bool frozen) {
  frozen_ = frozen;
  for (auto& p : encoder->parameters()) p.set_requires_grad(!frozen);
  train(is_training());
}

std::vector<torch::Tensor> UNetImpl::trainable_parameters() {
  std::vector<torch::Tensor> out;
  for (auto& p : parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

void UNetImpl::train(bool on) {
  if (on && folded_) throw_runtime("a model with folded BatchNorm is for inference only and cannot train");
  torch::nn::Module::train(on);
  // A frozen encoder keeps its (ImageNet) BatchNorm statistics: eval mode, as Keras's trainable=False.
  if (frozen_) encoder->eval();
}

void UNetImpl::fold_batchnorm() {
  if (folded_) return;
  train(false);
  encoder->fold_batchnorm();
  for (auto& up : ups) up->fold_batchnorm();
  if (full_res) full_res->fold_batchnorm();
  // Inference form: the adjoint (oneDNN backward-data) transposed convolution at every decoder
  // layer, NCHW. Without autograd it has no native fallback; see docs/model.md for the timings.
  set_upsampling(Upsampling::adjoint);
  options_.channels_last = false;
  folded_ = true;
}

void UNetImpl::set_upsampling(Upsampling mode) {
  options_.upsampling = mode;
  for (auto& up : ups) up->set_mode(mode);
  if (full_res) full_res->up->set_mode(mode);
}

void fold_batchnorm(UNet& model) { model->fold_batchnorm(); }

UNet make_model(const ModelConfig& config) {
  UNetOptions options;
  options.classes = config.classes;
  options.extra_outputs = (config.distance_head ? 1 : 0) + (config.flow_head ? 2 : 0);
  options.full_res = config.full_res;
  options.decoder_width = config.decoder_width;
  const bool have_weights = !config.encoder_weights.empty();
  if (config.freeze_encoder == TriState::yes && !have_weights)
    throw_config("model.freeze_encoder",
                 "freezing the encoder needs ImageNet weights (model.encoder_weights); a randomly initialised "
                 "encoder would never learn");
  UNet model(options);
  if (have_weights) model->load_keras_encoder(config.encoder_weights);
  const bool freeze = config.freeze_encoder == TriState::yes ||
                      (config.freeze_encoder == TriState::automatic && have_weights);
  model->set_encoder_frozen(freeze);
  return model;
}

}  // namespace nucseg::model
