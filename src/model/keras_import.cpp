// ImageNet weights from Keras's MobileNetV2 *_no_top.h5 (legacy layout: root attribute
// layer_names; each layer group lists weight_names such as "Conv1/kernel:0", relative paths of
// its datasets). Every encoder parameter and BatchNorm statistic must be set exactly once.
#include <map>
#include <set>

#include "nucseg/core/error.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/model/keras_h5.hpp"
#include "nucseg/model/unet.hpp"

namespace nucseg::model {
namespace {

// MobileNetV2 layers the file holds but the tutorial's encoder ends before (the last tap is
// block_16_project, ahead of its BatchNorm and of the 1280-channel Conv_1).
const std::set<std::string> kUnusedKerasLayers = {"block_16_project_BN", "Conv_1", "Conv_1_bn"};

std::string shape_text(const std::vector<int64_t>& s) { return c10::str(c10::IntArrayRef(s)); }

// The layout conversion of one Keras array into the target tensor's layout.
torch::Tensor to_torch_layout(const std::string& kind, torch::Tensor keras) {
  if (kind == "kernel:0") return keras.permute({3, 2, 0, 1});            // HWIO -> OIHW
  if (kind == "depthwise_kernel:0") return keras.permute({2, 3, 0, 1});  // (H,W,C,1) -> (C,1,H,W)
  return keras;
}

// "block_1_expand_BN.running_var" -> "block_1_expand_BN/moving_variance:0" (for messages).
std::string keras_weight_name(const std::string& torch_key, const torch::Tensor& t) {
  const auto dot = torch_key.rfind('.');
  const std::string layer = torch_key.substr(0, dot), field = torch_key.substr(dot + 1);
  std::string kind;
  if (t.dim() == 4) kind = layer.find("depthwise") != std::string::npos ? "depthwise_kernel:0" : "kernel:0";
  else if (field == "weight") kind = "gamma:0";
  else if (field == "bias") kind = "beta:0";
  else if (field == "running_mean") kind = "moving_mean:0";
  else kind = "moving_variance:0";
  return layer + "/" + kind;
}

}  // namespace

void UNetImpl::load_keras_encoder(const std::string& h5_path) {
  h5::silence_library_errors();
  h5::File file(h5_path, h5::File::Mode::read);
  // Whole-model saves nest the weights under model_weights; save_weights files do not.
  h5::Group nested;
  const h5::Group* root_ptr = &file;
  if (!file.has_attr("layer_names") && file.exists("model_weights")) {
    nested = file.open_group("model_weights");
    root_ptr = &nested;
  }
  const h5::Group& root = *root_ptr;
  const auto layers = keras_h5::read_names(root, "layer_names");

  // Targets: every encoder parameter/buffer by its "<Keras layer>.<torch name>".
  std::map<std::string, torch::Tensor> targets;
  for (auto& item : encoder->named_parameters()) targets.emplace(item.key(), item.value());
  for (auto& item : encoder->named_buffers())
    if (item.key().find("num_batches_tracked") == std::string::npos) targets.emplace(item.key(), item.value());
  const std::map<std::string, std::string> torch_name = {
      {"kernel:0", "weight"},         {"depthwise_kernel:0", "weight"}, {"gamma:0", "weight"},
      {"beta:0", "bias"},             {"moving_mean:0", "running_mean"}, {"moving_variance:0", "running_var"}};

  std::map<std::string, torch::Tensor> staged;  // assigned only when the whole file checks out
  for (const auto& layer : layers) {
    if (!root.exists(layer)) throw_data(h5_path, "layer '" + layer + "' is listed in layer_names but has no group");
    h5::Group g = root.open_group(layer);
    const auto weights = keras_h5::read_names(g, "weight_names");
    if (weights.empty() || kUnusedKerasLayers.count(layer)) continue;
    for (const auto& wname : weights) {
      const std::string kind = wname.substr(wname.rfind('/') + 1);
      auto tn = torch_name.find(kind);
      auto target = tn == torch_name.end() ? targets.end() : targets.find(layer + "." + tn->second);
      if (target == targets.end()) throw_data(h5_path, "unexpected weight '" + layer + "/" + wname + "'");
      if (!g.exists(wname)) throw_data(h5_path, "weight '" + layer + "/" + wname + "' is listed but missing");
      std::vector<int64_t> dims;
      for (auto d : g.shape(wname)) dims.push_back(static_cast<int64_t>(d));
      const auto values = g.read<float>(wname);
      auto keras = torch::from_blob(const_cast<float*>(values.data()), dims, torch::kFloat32);
      torch::Tensor converted;
      if (dims.size() == static_cast<size_t>(target->second.dim())) converted = to_torch_layout(kind, keras);
      if (!converted.defined() || converted.sizes() != target->second.sizes())
        throw_data(h5_path, "weight '" + layer + "/" + wname + "' has shape " + shape_text(dims) + ", expected " +
                                "the Keras layout of torch shape " + c10::str(target->second.sizes()));
      if (!staged.emplace(target->first, converted.contiguous().clone()).second)
        throw_data(h5_path, "weight '" + layer + "/" + wname + "' appears twice");
    }
  }
  for (const auto& [name, tensor] : targets) {
    if (staged.count(name)) continue;
    throw_data(h5_path, "missing weight '" + keras_weight_name(name, tensor) +
                            "': the file is not a Keras MobileNetV2 alpha-1.0 weight file");
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : targets) tensor.copy_(staged.at(name));
}

}  // namespace nucseg::model
