// export_torchscript: checkpoint -> TorchScript module file (format in torchscript.hpp).
#include "nucseg/export/torchscript.hpp"

#include <sstream>

#include "nucseg/core/config.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/normalize.hpp"
#include "nucseg/model/checkpoint.hpp"
#include "nucseg/model/model_info.hpp"
#include "unet_script.hpp"

namespace nucseg::exporter {
namespace {

// How the training run prepared its images, as nucseg_infer reads it from the checkpoint
// (infer/prepare.cpp): recorded data.channels and data.normalize*, or the defaults of
// checkpoints that predate them (rgb; range).
ExportInfo recorded_info(const model::CheckpointState& state, const std::filesystem::path& checkpoint) {
  const RecordedConfig recorded = parse_recorded_config(state.config, checkpoint.string());
  ExportInfo info;
  info.classes = static_cast<int>(state.classes);
  if (recorded.has("data.channels")) {
    info.channels = to_toml(recorded.config.data.channels);
    if (info.channels.size() >= 2 && info.channels.front() == '"') info.channels = info.channels.substr(1, info.channels.size() - 2);
  }
  io::NormalizeSpec spec;
  if (recorded.has("data.normalize")) spec = io::normalize_spec(recorded.config.data);
  else spec.kind = io::NormalizeKind::range;
  info.normalize = io::normalize_kind_name(spec.kind);
  info.normalize_low = spec.low;
  info.normalize_high = spec.high;
  info.normalize_min = spec.min;
  info.normalize_max = spec.max;
  info.nucleus_diameter = state.nucleus_diameter;
  info.checkpoint_step = state.step;
  return info;
}

void add_attributes(torch::jit::Module& module, const ExportInfo& info) {
  auto text = [&](const char* name, const std::string& value) { module.register_attribute(name, c10::StringType::get(), value); };
  auto real = [&](const char* name, double value) { module.register_attribute(name, c10::FloatType::get(), value); };
  auto integer = [&](const char* name, int64_t value) { module.register_attribute(name, c10::IntType::get(), value); };
  text("nucseg_version", NUCSEG_VERSION);
  integer("classes", info.classes);
  integer("distance_head", info.distance_head ? 1 : 0);
  integer("flow_head", info.flow_head ? 1 : 0);
  integer("input_multiple", model::input_multiple);
  text("channels", info.channels);
  text("normalize", info.normalize);
  real("normalize_low", info.normalize_low);
  real("normalize_high", info.normalize_high);
  real("normalize_min", info.normalize_min);
  real("normalize_max", info.normalize_max);
  real("nucleus_diameter", info.nucleus_diameter);
  integer("checkpoint_step", info.checkpoint_step);
  text("model_hash", info.model_hash);
}

}  // namespace

ExportInfo export_torchscript(const std::filesystem::path& checkpoint, const std::filesystem::path& output) {
  const auto state = model::read_checkpoint_state(checkpoint);
  const ModelConfig mc = model::checkpoint_model_config(state);
  model::UNet net = model::make_model(mc);
  model::load_checkpoint(checkpoint, *net, nullptr, torch::kCPU);
  net->eval();
  ExportInfo info = recorded_info(state, checkpoint);
  info.classes = mc.classes;
  info.distance_head = mc.distance_head;
  info.flow_head = mc.flow_head;
  info.model_hash = model::model_tensors_hash(*net);

  torch::jit::Module module("__torch__.nucseg.UNet");
  define_unet_forward(module, *net);
  add_attributes(module, info);
  module.eval();
  std::ostringstream bytes;
  module.save(bytes);
  if (output.has_parent_path()) fs::create_directories(output.parent_path());
  fs::write_file_atomic(output, bytes.str());
  return info;
}

}  // namespace nucseg::exporter
