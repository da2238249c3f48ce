// The exported forward, written line by line (see unet_script.hpp). The encoder's submodules
// are Keras's MobileNetV2 layers in registration order: Conv1, then per block <prefix>expand
// (absent in block 0), <prefix>depthwise, <prefix>project, each convolution followed by its
// BatchNorm except block_16_project (model/mobilenet_v2.cpp).
#include "unet_script.hpp"

#include <sstream>

#include <torch/version.h>

#include "nucseg/core/error.hpp"
#include "nucseg/model/model_info.hpp"

namespace nucseg::exporter {
namespace {

struct Folded {
  torch::Tensor weight, bias;  // bias undefined: none
};

// Eval-form BatchNorm after a bias-free convolution folded into it: w' = w * s and
// b' = beta - mean * s with s = gamma / sqrt(var + eps), per output channel (`out_dim` of the
// weight: 0 for Conv2d, 1 for ConvTranspose2d); float32, as UNetImpl::fold_batchnorm does it.
Folded fold(const torch::Tensor& weight, const torch::Tensor& bias, torch::nn::BatchNorm2dImpl* bn, int64_t out_dim) {
  torch::NoGradGuard no_grad;
  if (weight.scalar_type() != torch::kFloat32)
    throw_runtime("export: the model must be float32 (not the bfloat16 inference form)");
  if (!bn) return {weight.detach().clone(), bias.defined() ? bias.detach().clone() : torch::Tensor()};
  if (bias.defined()) throw_runtime("export: a convolution with a bias before its BatchNorm is not expected");
  auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[static_cast<size_t>(out_dim)] = -1;
  return {weight * scale.view(shape), bn->bias - bn->running_mean * scale};
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string pair(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

template <class Options>
std::string padding_of(const Options& options) {
  // LibTorch 2.1 replaced c10::variant (and c10::get_if) with std::variant.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  const auto* pad = std::get_if<torch::ExpandingArray<2>>(&options.padding());
#else
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
#endif
  if (!pad) throw_runtime("export: convolutions with 'same'/'valid' padding modes are not expected");
  return pair((**pad)[0], (**pad)[1]);
}

// Parameters and source of the module being written.
class ScriptWriter {
 public:
  explicit ScriptWriter(torch::jit::Module& module) : module_(module) {}

  // Registers <name>_weight (and <name>_bias) and returns them as call arguments.
  std::string parameters(const std::string& name, const Folded& f) {
    module_.register_parameter(name + "_weight", f.weight.contiguous(), false);
    if (!f.bias.defined()) return "self." + name + "_weight, None";
    module_.register_parameter(name + "_bias", f.bias.contiguous(), false);
    return "self." + name + "_weight, self." + name + "_bias";
  }
  void line(const std::string& text) { body_ << "    " << text << "\n"; }
  std::string source() const { return "def forward(self, x):\n" + body_.str(); }

 private:
  torch::jit::Module& module_;
  std::ostringstream body_;
};

struct Unit {
  std::string name;  // Keras layer name of the convolution
  torch::nn::Conv2dImpl* conv = nullptr;
  torch::nn::BatchNorm2dImpl* bn = nullptr;
  int64_t stride() const { return (*conv->options.stride())[0]; }
};

// Block 0 is expanded_conv_*, the others block_<i>_*; the stem Conv1 is a block of its own.
std::string block_of(const std::string& name) {
  for (const char* role : {"expand", "depthwise", "project"})
    if (ends_with(name, role)) return name.substr(0, name.size() - std::string(role).size());
  return name;
}

std::vector<std::vector<Unit>> encoder_blocks(torch::nn::Module& encoder) {
  std::vector<std::vector<Unit>> blocks;
  for (const auto& child : encoder.named_children()) {
    if (auto* conv = child.value()->as<torch::nn::Conv2d>()) {
      if (blocks.empty() || block_of(blocks.back().front().name) != block_of(child.key())) blocks.emplace_back();
      blocks.back().push_back({child.key(), conv, nullptr});
    } else if (auto* bn = child.value()->as<torch::nn::BatchNorm2d>()) {
      if (blocks.empty() || blocks.back().back().bn) throw_runtime("export: BatchNorm " + child.key() + " follows no convolution");
      blocks.back().back().bn = bn;
    } else {
      throw_runtime("export: unexpected encoder submodule " + child.key());
    }
  }
  return blocks;
}

void emit_conv(ScriptWriter& w, const Unit& u) {
  const auto& o = u.conv->options;
  // TF 'same' at stride 2: one zero row/column at the bottom/right (model::pad_bottom_right).
  const std::string input = u.stride() == 2 ? "torch.constant_pad_nd(x, [0, 1, 0, 1], 0.0)" : "x";
  const auto args = w.parameters(u.name, fold(u.conv->weight, u.conv->bias, u.bn, 0));
  w.line("x = torch.conv2d(" + input + ", " + args + ", " + pair(u.stride(), u.stride()) + ", " + padding_of(o) +
         ", [1, 1], " + std::to_string(o.groups()) + ")");
  if (!ends_with(u.name, "project")) w.line("x = torch.hardtanh(x, 0.0, 6.0)");  // ReLU6; projections are linear
}

// The encoder, leaving its taps (model_info.hpp: encoder_taps_info) in t0 .. t4.
void emit_encoder(ScriptWriter& w, torch::nn::Module& encoder) {
  std::vector<bool> found(model::encoder_taps_info.size(), false);
  for (const auto& block : encoder_blocks(encoder)) {
    // An inverted residual block adds its input when its depthwise stride is 1 and its width
    // is kept (model/mobilenet_v2.cpp).
    bool residual = block.size() >= 2 && ends_with(block.back().name, "project");
    for (const auto& u : block)
      if (ends_with(u.name, "depthwise") && u.stride() != 1) residual = false;
    residual = residual && block.front().conv->options.in_channels() == block.back().conv->options.out_channels();
    if (residual) w.line("r = x");
    for (const auto& u : block) {
      emit_conv(w, u);
      if (residual && &u == &block.back()) w.line("x = x + r");
      for (size_t k = 0; k < found.size(); ++k) {
        const auto& tap = model::encoder_taps_info[k].keras_layer;
        if (tap == u.name || tap == u.name + "_relu") {
          w.line("t" + std::to_string(k) + " = x");
          found[k] = true;
        }
      }
    }
  }
  for (size_t k = 0; k < found.size(); ++k)
    if (!found[k]) throw_runtime("export: encoder tap " + std::string(model::encoder_taps_info[k].keras_layer) + " not found");
}

std::string conv_transpose(const torch::nn::ConvTranspose2dImpl& conv, const std::string& input, const std::string& args) {
  const auto& o = conv.options;
  return "torch.conv_transpose2d(" + input + ", " + args + ", " + pair((*o.stride())[0], (*o.stride())[1]) + ", " +
         padding_of(o) + ", " + pair((*o.output_padding())[0], (*o.output_padding())[1]) + ", " +
         std::to_string(o.groups()) + ", " + pair((*o.dilation())[0], (*o.dilation())[1]) + ")";
}

// pix2pix decoder: per stage ConvTranspose2d + BatchNorm (folded) + ReLU, concatenated with
// the next shallower tap; then the logits layer.
void emit_decoder(ScriptWriter& w, model::UNetImpl& net) {
  const size_t deepest = model::encoder_taps_info.size() - 1;
  if (net.ups.size() != deepest) throw_runtime("export: expected " + std::to_string(deepest) + " decoder stages");
  w.line("y = t" + std::to_string(deepest));
  for (size_t i = 0; i < net.ups.size(); ++i) {
    auto& up = *net.ups[i];
    const auto args = w.parameters("up" + std::to_string(i + 1), fold(up.conv->weight, up.conv->bias, up.bn.get(), 1));
    w.line("y = torch.relu(" + conv_transpose(*up.conv, "y", args) + ")");
    w.line("y = torch.cat([y, t" + std::to_string(deepest - 1 - i) + "], 1)");
  }
  if (!net.full_res) {
    const auto args = w.parameters("last", fold(net.last->weight, net.last->bias, nullptr, 1));
    w.line("return " + conv_transpose(*net.last, "y", args));
    return;
  }
  // model.full_res: upsample + BatchNorm + ReLU, the input image, 3x3 conv + BatchNorm + ReLU, 1x1 to the outputs.
  auto& f = *net.full_res;
  const auto up = w.parameters("full_res_up", fold(f.up->conv->weight, f.up->conv->bias, f.up->bn.get(), 1));
  w.line("y = torch.relu(" + conv_transpose(*f.up->conv, "y", up) + ")");
  w.line("y = torch.cat([y, image], 1)");
  const auto conv = w.parameters("full_res_conv", fold(f.conv->weight, f.conv->bias, f.bn.get(), 0));
  w.line("y = torch.relu(torch.conv2d(y, " + conv + ", [1, 1], " + padding_of(f.conv->options) + "))");
  const auto head = w.parameters("full_res_head", fold(f.head->weight, f.head->bias, nullptr, 0));
  w.line("return torch.conv2d(y, " + head + ")");
}

}  // namespace

void define_unet_forward(torch::jit::Module& module, model::UNetImpl& net) {
  if (net.folded()) throw_runtime("export: give the model as loaded, before fold_batchnorm (export folds it)");
  ScriptWriter w(module);
  const std::string m = std::to_string(model::input_multiple);
  w.line("assert x.dim() == 4 and x.size(1) == 3 and x.size(2) % " + m + " == 0 and x.size(3) % " + m +
         " == 0, \"nucseg: input must be N x 3 x H x W (normalised float32), H and W multiples of " + m + "\"");
  w.line("x = x * 2.0 - 1.0");  // Keras's MobileNetV2 preprocessing of 0..1 input (UNetImpl::encoder_taps)
  if (net.full_res) w.line("image = x");  // model.full_res reads it at the end
  emit_encoder(w, *net.encoder);
  emit_decoder(w, net);
  module.define(w.source());
}

}  // namespace nucseg::exporter
