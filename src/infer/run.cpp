// run_infer: the real stages of nucseg_infer around the driver.
#include "nucseg/infer/run.hpp"

#include <torch/torch.h>

#include <sstream>
#include <memory>
#include <optional>
#include <set>

#include "nucseg/core/cpu.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/device.hpp"
#include "nucseg/infer/driver.hpp"
#include "nucseg/infer/network.hpp"
#include "nucseg/infer/prepare.hpp"
#include "nucseg/model/checkpoint.hpp"
#include "nucseg/model/find_checkpoint.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/measure.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;
constexpr const char* kModelKey = "infer.model";

// Inputs are discovered once (rank 0) and broadcast, so every rank sees the same ids; a
// discovery error is re-raised on every rank so the job exits 2 rather than aborting.
InputSet shared_inputs(const std::string& input, const std::string& output, const dist::World& world) {
  std::string text, error;
  if (world.is_root()) {
    try {
      text = "ok" + serialize(discover_inputs(input, output));
    } catch (const Error& e) {
      text = "er" + e.message();  // the key and rank are added again below
    }
  }
  world.broadcast(text);
  if (text.compare(0, 2, "ok") != 0) throw_config("infer.input", text.substr(2));
  return deserialize_inputs(text.substr(2));
}

// What the input walk left out besides hidden files and temporaries, for the start-up line.
std::string left_out_text(const InputSet& inputs) {
  std::string out;
  auto add = [&out](size_t n, const char* what) {
    if (n) out += ", " + std::to_string(n) + " " + what;
  };
  add(inputs.masks_skipped, "masks beside their images");
  add(inputs.mask_folders_skipped, "masks/ folders beside images/");
  add(inputs.links_skipped, "linked folders already walked");
  add(inputs.broken_links, "links to nothing (failures)");
  add(inputs.unlistable_folders, "folders that cannot be read (failures)");
  add(inputs.kaggle_items_without_images, "Kaggle items with masks/ but no image (failures)");
  if (inputs.output_skipped) out += ", the output folder inside the input";
  return out;
}

// Warnings for what the listing left out that a user may have meant as input.
void warn_left_out(const InputSet& inputs) {
  if (inputs.not_regular.count) log::job().warn("infer: skipped {} (not opened)", inputs.not_regular.text());
  if (inputs.unread_formats.count)
    log::job().warn("infer: left out {} file(s) in formats nucseg does not read: {}; convert them to PNG or TIFF",
                    inputs.unread_formats.count, inputs.unread_formats.names_text());
}

// A channel choice as recorded: rgb, gray or [i, j, k] (TOML text without the string quotes).
std::string channel_text(const ChannelSpec& spec) {
  std::string text = to_toml(spec);
  if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
  return text;
}

struct LoadedModel {
  model::UNet net{nullptr};
  int classes = 3;
  int extras = 0;  // outputs after the classes: a distance head 1, a flow head 2 (after the distance's)
  bool distance_head = false, flow_head = false;
  std::string config_toml;  // of the training run
  double nucleus_diameter = 0.0;  // of the training set (px; 0: unknown)
};

// Where and how this rank runs the network: infer.device by the rank -> GPU rule training uses,
// the same kind of device on every rank (one image's tiles may be computed by several ranks and
// must not mix arithmetic), infer.precision as rank 0 resolves it.
NetworkOptions network_options(const InferConfig& ic, const dist::World& world) {
  const torch::Device device = dist::select_device(ic.device, world.local_rank(), "infer.device");
  dist::make_current(device);
  if (!dist::all_equal(world, device.is_cpu() ? 0 : 1))
    throw_config("infer.device", "\"" + ic.device + "\" gave a GPU to some ranks and the CPU to others; set cpu or "
                                 "cuda (or give every node GPUs)");
  const std::string kind = device.is_cpu() ? "cpu" : "cuda";
  NetworkOptions options;
  options.device = device.str();
  options.fold_batchnorm = ic.fold_batchnorm;
  // Validated on every rank (exit 2 everywhere); "auto" decided by rank 0 for every rank.
  const bool native = cpu_has_native_bfloat16();
  options.precision = resolve_precision(ic.precision, kind, ic.fold_batchnorm, ic.deterministic, native);
  world.broadcast(options.precision);
  if (kind == "cpu" && options.precision == "bfloat16" && !native)
    log::rank().warn("infer.precision = bfloat16 on a CPU without AVX512-BF16 or AMX: oneDNN emulates it, "
                     "which is slower than float32");
  return options;
}

LoadedModel load_model(const stdfs::path& file, const Config& config, const NetworkOptions& options) {
  auto state = model::read_checkpoint_state(file);
  LoadedModel m;
  const ModelConfig mc = model::checkpoint_model_config(state, config.model);
  m.classes = mc.classes;
  m.distance_head = mc.distance_head;
  m.flow_head = mc.flow_head;
  m.extras = (mc.distance_head ? 1 : 0) + (mc.flow_head ? 2 : 0);
  m.config_toml = state.config;
  m.nucleus_diameter = state.nucleus_diameter;
  m.net = model::make_model(mc);
  model::load_checkpoint(file, *m.net, nullptr, torch::kCPU);
  // Measured on the demo checkpoint (CPU): held-out score 0.638 (float32) vs 0.637 (bfloat16).
  place_network(*m.net, options);
  return m;
}

}  // namespace

std::string result_settings(const Config& config) {
  // Keys that say where things are or how fast they run, not what a result is.
  static const std::set<std::string> neutral = {"model",         "input",       "output",     "overwrite",
                                                "threads",       "export_labels", "export_rois", "export_rle",
                                                "max_failed_fraction"};
  std::istringstream toml(config_to_toml(config, {"data", "infer", "segment"}));
  std::string line, section, out;
  while (std::getline(toml, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line;
      continue;
    }
    auto key = line.substr(0, line.find(' '));
    if (section == "[infer]" && neutral.count(key)) continue;
    // Added after results existed: at 0 (off) they change nothing, so those results stay valid.
    const SegmentConfig& sc = config.segment;
    const bool later_key_off = (key == "min_solidity" && sc.min_solidity == 0.0) ||
                               (key == "core_seed_area" && sc.core_seed_area == 0) ||
                               (key == "interior_reach" && sc.interior_reach == 0);
    if (section == "[segment]" && later_key_off) continue;
    // Of [data], only what inference reads: the channel choice and the normalisation.
    if (section == "[data]" && key.rfind("channels", 0) != 0 && key.rfind("normalize", 0) != 0) continue;
    out += section.substr(1, section.size() - 2) + "." + line + "\n";
  }
  // bfloat16 on a CPU took in the encoder on 2026-11-29 (it was the decoder's alone): results of
  // the older form are redone on resume, not mixed with the new ones.
  if (config.infer.device == "cpu" && config.infer.precision == "bfloat16")
    out += "network.bfloat16 = 'encoder and decoder'\n";
  return out;
}

stdfs::path resolve_model_file(const std::string& model) { return model::find_checkpoint(model, kModelKey); }

int run_infer(const Config& config, const dist::World& world) {
  // SIGTERM/SIGUSR1 finish the images in flight and exit with the requeue code (driver.cpp).
  StopSignal::install();
  const auto& ic = config.infer;
  if (ic.output.empty()) throw_config("infer.output", "no output folder given");
  const auto model_file = resolve_model_file(ic.model);  // every rank: a bad path is exit 2 everywhere
  InputSet inputs = shared_inputs(ic.input, ic.output, world);

  // Deterministic: one intra-op thread, because the network's results depend on how many run
  // it (measured: 1 thread vs 2 changed the class maps of 15 of 20 images in bfloat16 and the
  // probabilities of 1 of 20 in float32); parallelism then comes from ranks and tile sharing,
  // which do not change a result (each batch is blended in order whoever computed it).
  const int threads = ic.deterministic ? 1 : world.default_threads(ic.threads);
  if (ic.deterministic && ic.threads > 1)
    log::job().warn("infer.deterministic: the network runs on 1 thread per rank, not infer.threads = {}", ic.threads);
  at::set_num_threads(threads);
  const NetworkOptions net_options = network_options(ic, world);
  LoadedModel model = load_model(model_file, config, net_options);
  // Every rank loads the model, so these refusals are exit 2 everywhere, before any image.
  if (model.classes != 3)
    throw_config("model.classes", "the segment step needs 3 classes (background, interior, border); " +
                                      model_file.string() + " has " + std::to_string(model.classes));
  if (config.segment.seeds == "flows" && !model.flow_head)
    throw_config("segment.seeds", "flows needs a network trained with model.flow_head = true; " + model_file.string() +
                                      " has no flow head");
  if (config.segment.seeds == "predicted" && !model.distance_head)
    throw_config("segment.seeds", "predicted needs a network trained with model.distance_head = true; " +
                                      model_file.string() + " has no distance head");
  log::job().info("infer: model {} ({} classes, BatchNorm {}, {} on {}), {} images ({} input; skipped {} hidden and {} "
                  "temporary file(s){}), {} threads per rank on {} ranks",
                  model_file.string(), model.classes, model.net->folded() ? "folded" : "kept",
                  net_options.precision == "float32" || net_options.device != "cpu" ? net_options.precision
                                                                                     : "bfloat16",
                  net_options.device, inputs.items.size(), inputs.kind, inputs.hidden_skipped,
                  inputs.temporary_skipped,
                  left_out_text(inputs), threads, world.size());
  warn_left_out(inputs);

  // Channels and normalisation as the checkpoint's training run prepared its images.
  const InputRule rule = resolve_input_rule(config, model.config_toml, model_file.string());
  log::job().info("infer: channels {} ({}), normalisation {} ({})", channel_text(rule.channels), rule.channels_origin,
                  io::describe(rule.normalize), rule.normalize_origin);
  log::job().info("infer: training nucleus diameter {}, infer.diameter {}, infer.tta {}",
                  model.nucleus_diameter > 0 ? fmt::format("{:.1f} px", model.nucleus_diameter) : "unknown",
                  ic.diameter.automatic ? "auto" : fmt::format("{:g}", ic.diameter.pixels), ic.tta);
  if (ic.diameter.automatic && !(model.nucleus_diameter > 0))
    log::job().warn("infer: {} records no nucleus diameter: infer.diameter = \"auto\" leaves every image at its own "
                    "scale", model_file.string());

  Stages stages;
  stages.classes = model.classes;
  stages.extras = model.extras;
  stages.training_diameter = model.nucleus_diameter;
  stages.read = [rule](const std::string& path) { return load_image(path, rule); };
  stages.model = network_tile_model(model.net.ptr(), model.classes + model.extras, net_options);
  stages.segment_params = segment::params_from_config(config.segment);
  stages.segment = [](const segment::ClassEvidence& evidence) { return segment::instances_from_evidence(evidence); };
  stages.measure = [](const std::string& id, const cv::Mat& labels, const LoadedImage& image) {
    auto table = segment::measure_objects(id, labels, image.rgb);
    if (!image.raw.empty()) segment::measure_channels(labels, image.raw, table);
    return table;
  };

  Provenance provenance;
  provenance.checkpoint = stdfs::absolute(model_file).lexically_normal().string();
  // Every rank stamps its results with it: rank 0 reads the file once and tells the others.
  if (world.is_root()) provenance.checkpoint_hash = fs::file_checksum(model_file);
  world.broadcast(provenance.checkpoint_hash);
  Config resolved = config;  // what ran: "auto" device and precision resolved
  resolved.infer.precision = net_options.precision;
  resolved.infer.device = net_options.device == "cpu" ? "cpu" : "cuda";
  provenance.config_toml = config_to_toml(resolved, {"log", "model", "infer", "segment"});
  provenance.settings = result_settings(resolved);
  provenance.training_config = model.config_toml;
  provenance.input_root = inputs.root;
  provenance.input_kind = inputs.kind;
  provenance.normalize = io::describe(rule.normalize);
  provenance.channels = channel_text(rule.channels);

  auto report = run_inference(ic, world, inputs, stages, provenance);
  if (report.failed_total > 0)
    log::job().warn("infer: {} of {} image(s) failed; see the /failures table of {}/segmentation.h5 (exit code {}: "
                    "infer.max_failed_fraction = {})",
                    report.failed_total, inputs.items.size(), ic.output, report.exit_code, ic.max_failed_fraction);
  return report.exit_code;
}

}  // namespace nucseg::infer
