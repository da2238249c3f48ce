// The seed's network: a Keras-exact MobileNetV2 encoder (ImageNet-importable) with the
// TensorFlow tutorial's skip taps and a pix2pix decoder. Includes torch, so only code that
// builds or runs the network includes it; torch-free facts live in model_info.hpp.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "nucseg/core/config.hpp"

namespace nucseg::model {

// How the decoder computes ConvTranspose2d(k3, s2, p1, op1); the math is the same in all three.
enum class Upsampling {
  torch,     // torch::conv_transpose2d (Debian: im2col/col2im, slow backward)
  subpixel,  // one 2x2 convolution to 4*Cout phase channels + pixel_shuffle (16/9 the FLOPs)
  phases,    // four exact phase convolutions (1x1, 1x2, 2x1, 2x2) + interleave
  adjoint,   // the adjoint of a stride-2 oneDNN convolution (custom autograd; fastest to train)
};

struct UNetOptions {
  int classes = 3;
  // Training default: adjoint (measured fastest for training steps here; see docs/model.md).
  // fold_batchnorm() keeps adjoint and sets NCHW, measured fastest for inference (unet.cpp).
  Upsampling upsampling = Upsampling::adjoint;
  // NHWC activations (oneDNN convolutions without layout reorders).
  bool channels_last = false;
  // Outputs after the class logits: model.distance_head's distance logit (1), model.flow_head's
  // (dy, dx) logits (2, after the distance's when both).
  int extra_outputs = 0;
  // model.full_res: channels of a stage at the input's resolution (0: the seed's last layer,
  // one transposed convolution from the stride-2 features straight to the logits).
  int full_res = 0;
  // model.decoder_width: decoder_filters (model_info.hpp) times this, rounded, at least 8.
  double decoder_width = 1.0;
};

// One convolution followed by BatchNorm (Keras pair such as block_1_expand + block_1_expand_BN).
struct ConvBn {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};  // null for block_16_project (the tap precedes its BN)
  int stride = 1;
  int padding = 0;
  int groups = 1;
  bool relu6 = true;
};

// MobileNetV2 (alpha 1.0) up to block_16_project; submodules carry the Keras layer names.
class MobileNetV2EncoderImpl : public torch::nn::Module {
 public:
  MobileNetV2EncoderImpl();
  // The five taps of model_info.hpp, shallowest first. x: already scaled to [-1, 1].
  std::vector<torch::Tensor> forward(torch::Tensor x);
  // BatchNorm folded into the convolutions (eval only; see fold_batchnorm).
  void fold_batchnorm();
  bool folded() const { return folded_; }
  // Folded only: weights and folded biases in `dtype` (the input must then be `dtype` too).
  void set_dtype(torch::Dtype dtype);

 private:
  struct Block {
    int id = 0;
    ConvBn expand, depthwise, project;  // expand.conv null for block 0
    bool residual = false;
  };
  ConvBn make_unit(const std::string& conv_name, const std::string& bn_name, int in, int out, int stride,
                   bool depthwise, bool relu6);
  torch::Tensor run(ConvBn& u, torch::Tensor x);

  ConvBn stem_;
  std::vector<Block> blocks_;
  bool folded_ = false;
};
TORCH_MODULE(MobileNetV2Encoder);

// pix2pix upsample: ConvTranspose2d(k3, s2, same) -> BatchNorm -> ReLU.
class UpsampleImpl : public torch::nn::Module {
 public:
  UpsampleImpl(int in, int out, Upsampling mode);
  torch::Tensor forward(torch::Tensor x);
  void fold_batchnorm();
  void set_mode(Upsampling mode) { mode_ = mode; }
  // Folded only: weights and bias in `dtype` (the input must then be `dtype` too).
  void set_dtype(torch::Dtype dtype);
  // Training in the adjoint mode: the transposed convolution's products in bfloat16 (see
  // conv_transpose_k3s2_adjoint).
  void set_bfloat16_products(bool on) { bf16_products_ = on; }

  torch::nn::ConvTranspose2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};

 private:
  Upsampling mode_;
  bool folded_ = false;
  bool bf16_products_ = false;
  torch::Tensor folded_bias_;
};
TORCH_MODULE(Upsample);

// model.full_res: the seed's last layer maps stride-2 features linearly to full-resolution
// logits, so nothing nonlinear sees a single pixel. This stage upsamples to `channels` features
// (Upsample), concatenates the network's input image, and runs Conv3x3 -> BatchNorm -> ReLU and
// a 1x1 convolution to the outputs, so outlines are decided at the image's own pixels (measured:
// docs/benchmarks.md, "generalisation, seventh pass"; a 1-px border band still did not pay).
class FullResImpl : public torch::nn::Module {
 public:
  FullResImpl(int in, int channels, int outputs, Upsampling mode);
  // y: the decoder's stride-2 features; image: the network input as the encoder sees it ([-1, 1]).
  torch::Tensor forward(const torch::Tensor& y, const torch::Tensor& image);
  void fold_batchnorm();
  // Folded only: weights and biases in `dtype`.
  void set_dtype(torch::Dtype dtype);

  Upsample up{nullptr};
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Conv2d head{nullptr};

 private:
  bool folded_ = false;
  torch::Tensor folded_bias_;
};
TORCH_MODULE(FullRes);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(UNetOptions options = {});
  // x: N x 3 x H x W float in [0,1], H and W multiples of 32 -> logits N x outputs() x H x W:
  // the class logits, then the extra outputs' logits.
  torch::Tensor forward(torch::Tensor x);
  // The 5 encoder taps for x (same input convention as forward).
  std::vector<torch::Tensor> encoder_taps(torch::Tensor x);

  // Frozen: encoder parameters get requires_grad off and its BatchNorm stays in eval mode.
  void set_encoder_frozen(bool frozen);
  bool encoder_frozen() const { return frozen_; }
  std::vector<torch::Tensor> trainable_parameters();
  void train(bool on = true) override;

  // Keras MobileNetV2 *_no_top.h5 weights (legacy HDF5 layout) into the encoder.
  void load_keras_encoder(const std::string& h5_path);

  // Inference form: eval mode, BatchNorm folded into the preceding convolutions. Irreversible;
  // a folded model refuses train(true).
  void fold_batchnorm();
  bool folded() const { return folded_; }
  // How the decoder computes its transposed convolutions from now on (benchmarks compare modes).
  void set_upsampling(Upsampling mode);
  // Folded only: the decoder computes in bfloat16 (a float32 encoder's taps are cast where the
  // decoder reads them, logits return as float32). oneDNN runs bfloat16 natively on CPUs with
  // AVX512-BF16 or AMX; elsewhere it is emulated or falls back to slower kernels.
  void set_decoder_bfloat16(bool on);
  bool decoder_bfloat16() const { return decoder_bf16_; }
  // Folded only: the encoder computes in bfloat16 too (input cast once, taps handed on in
  // bfloat16, cast to float32 where a float32 decoder reads them).
  void set_encoder_bfloat16(bool on);
  bool encoder_bfloat16() const { return encoder_bf16_; }
  // Training (train.precision = bfloat16): the decoder's transposed convolutions multiply in
  // bfloat16, everything else stays float32 (master weights, BatchNorm, the encoder, the logits
  // layer, whose 3 output channels take the GEMM path). Needs the adjoint upsampling.
  void set_mixed_bfloat16(bool on);
  bool mixed_bfloat16() const { return mixed_bf16_; }

  const UNetOptions& options() const { return options_; }
  int outputs() const { return options_.classes + options_.extra_outputs; }
  MobileNetV2Encoder encoder{nullptr};
  std::vector<Upsample> ups;
  torch::nn::ConvTranspose2d last{nullptr};  // null with options().full_res > 0
  FullRes full_res{nullptr};                 // null without

 private:
  void check_input(const torch::Tensor& x) const;
  UNetOptions options_;
  bool frozen_ = false;
  bool folded_ = false;
  bool decoder_bf16_ = false;
  bool encoder_bf16_ = false;
  bool mixed_bf16_ = false;
};
TORCH_MODULE(UNet);

// The model of the [model] config section: classes, encoder_weights, freeze_encoder (automatic:
// frozen exactly when weights are loaded; freezing a random encoder is a config error).
UNet make_model(const ModelConfig& config);

// Puts `model` in eval mode with BatchNorm folded into its convolutions (for nucseg_infer).
void fold_batchnorm(UNet& model);

// ConvTranspose2d(k3, s2, p1, op1) computed the `mode` way; w keeps the transposed layout
// (Cin, Cout, 3, 3); bias may be undefined. Differentiable in x, w and bias.
torch::Tensor conv_transpose_k3s2(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                                  Upsampling mode);

// The `adjoint` way: forward and both gradients as oneDNN convolutions (GEMMs at <= 16 output
// channels), registered as one autograd node. bf16_products (training, float32 x above 16
// output channels): the three oneDNN passes multiply bfloat16 copies of their operands and
// return float32, so weights, activations and gradients between layers stay float32.
torch::Tensor conv_transpose_k3s2_adjoint(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                                          bool bf16_products = false);

// TF 'same' on stride 2 for even sizes: one zero row/column at the bottom/right.
torch::Tensor pad_bottom_right(const torch::Tensor& x);

}  // namespace nucseg::model
