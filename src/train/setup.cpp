#include "nucseg/train/setup.hpp"

#include <algorithm>
#include <filesystem>

#include "nucseg/core/cpu.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/data/targets.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/device.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/model/checkpoint.hpp"
#include "nucseg/model/model_info.hpp"

namespace nucseg::train {

TrainData open_train_data(const Config& config) {
  // The shards' targets (data/targets.hpp) are background, interior, border: fewer classes
  // fail inside the loss, more train a class that never occurs into a network infer refuses.
  // The configuration allows only 3; this guards configurations built in code.
  constexpr int target_classes = data::kBorder + 1;
  if (config.model.classes != target_classes)
    throw_config("model.classes", "is " + std::to_string(config.model.classes) + " but the training targets have " +
                                      std::to_string(target_classes) + " classes (background, interior, border)");
  if (config.segment.seeds == "predicted" && !config.model.distance_head)
    throw_config("segment.seeds", "predicted seeds nuclei from the distance head's output: set model.distance_head = "
                                  "true, or use seeds = distance or interior");
  if (config.segment.seeds == "flows" && !config.model.flow_head)
    throw_config("segment.seeds", "flows follows the flow head's output: set model.flow_head = true, or use seeds = "
                                  "distance or interior");
  const auto& dir = config.data.shards;
  if (dir.empty())  // the first thing a new user meets: say what is missing, not "is empty"
    throw_config("data.shards", "no training data given: name the shard folder nucseg_pack wrote with --shards FOLDER "
                                "(or --set data.shards=FOLDER, or shards = \"FOLDER\" under [data] in a --config "
                                "file); nucseg_train --help lists every option");
  if (!std::filesystem::is_directory(dir))
    throw_config("data.shards", "folder \"" + dir + "\" does not exist (run nucseg_pack first)");
  TrainData d{io::ShardDataset::open(dir), {}, {}};
  d.train = d.dataset.indices("train");
  d.val = d.dataset.indices("val");
  if (d.train.empty()) throw_data(dir, "the shards hold no image of the train split");
  if (d.val.empty()) throw_data(dir, "the shards hold no image of the val split (pack with pack.val_fraction > 0)");
  // The shards hold the channels pack mapped; the checkpoint records data.channels for
  // inference, so the two must agree or inference would feed other channels than training.
  const auto packed = parse_channel_spec(d.dataset.channels(), "data.channels");
  if (!(packed == config.data.channels))
    throw_config("data.channels", "is " + to_toml(config.data.channels) + " but the shards in " + dir +
                                      " were packed with " + to_toml(packed) + " (pack applies data.channels): set "
                                      "data.channels = " + to_toml(packed) + " or re-pack");
  // Images smaller than the crop are reflect-padded; a crop beyond the largest image (to the
  // network's multiple) would train mostly on mirrored copies, so it is refused.
  int largest = 0;
  for (size_t i : d.train) largest = std::max({largest, d.dataset.entry(i).height, d.dataset.entry(i).width});
  const int m = model::input_multiple;
  const int allowed = (largest + m - 1) / m * m;
  if (config.data.crop > allowed)
    throw_config("data.crop", std::to_string(config.data.crop) + " is larger than the largest training image (" +
                                  std::to_string(largest) + " px; at most " + std::to_string(allowed) + " allowed)");
  return d;
}

torch::Device select_device(const std::string& device, int local_rank) {
  const torch::Device chosen = dist::select_device(device, local_rank, "train.device");
  // Set once here, on the thread that trains: kernels, the caching allocator and streams that
  // name no device index use it (autograd's device threads follow the tensors' devices).
  dist::make_current(chosen);
  return chosen;
}

bool resolve_train_bfloat16(const std::string& precision, const torch::Device& device, bool native_bf16) {
  if (precision == "float32") return false;
  if (!device.is_cpu()) {
    if (precision == "auto") return false;
    throw_config("train.precision", "bfloat16 is for training on a CPU (oneDNN's bfloat16 convolutions); on " +
                                        device.str() + " use float32 or auto");
  }
  if (precision == "bfloat16") return true;
  if (precision == "auto") return native_bf16;
  throw_config("train.precision", "unknown value \"" + precision + "\" (float32, bfloat16, auto)");
}

bool choose_train_bfloat16(const TrainConfig& train, const torch::Device& device, const dist::World& world) {
  if (!dist::all_equal(world, device.is_cpu() ? 0 : 1))
    throw_config("train.device", "\"" + train.device + "\" gave a GPU to some ranks and the CPU to others; set cpu or "
                                 "cuda (or give every node GPUs)");
  std::string native = cpu_has_native_bfloat16() ? "1" : "0";
  world.broadcast(native);
  const bool bf16 = resolve_train_bfloat16(train.precision, device, native == "1");
  if (bf16 && native != "1")
    log::job().warn("train.precision = bfloat16 on a CPU without AVX512-BF16 or AMX: emulated or on fallback kernels, "
                    "slower than float32");
  log::job().info("precision: {}", bf16 ? "bfloat16 products in the decoder's transposed convolutions, float32 "
                                          "elsewhere (train.precision)"
                                        : "float32");
  return bf16;
}

void check_resume_model(const ModelConfig& model, const model::CheckpointState& saved, const std::string& path) {
  if (saved.classes != model.classes)
    throw_config("model.classes", "is " + std::to_string(model.classes) + " but the checkpoint to resume (" + path +
                                      ") has " + std::to_string(saved.classes));
  if (saved.distance_head != model.distance_head)
    throw_config("model.distance_head", std::string("is ") + (model.distance_head ? "true" : "false") +
                                            " but the checkpoint to resume (" + path + ") was trained " +
                                            (saved.distance_head ? "with" : "without") + " it");
  if (saved.flow_head != model.flow_head)
    throw_config("model.flow_head", std::string("is ") + (model.flow_head ? "true" : "false") +
                                        " but the checkpoint to resume (" + path + ") was trained " +
                                        (saved.flow_head ? "with" : "without") + " it");
  if (saved.full_res != model.full_res)
    throw_config("model.full_res", "is " + std::to_string(model.full_res) + " but the checkpoint to resume (" + path +
                                       ") has " + std::to_string(saved.full_res));
  if (saved.decoder_width != model.decoder_width)
    throw_config("model.decoder_width", "is " + std::to_string(model.decoder_width) + " but the checkpoint to resume (" +
                                            path + ") has " + std::to_string(saved.decoder_width));
}

void check_resume_layout(const model::CheckpointState& saved, const std::string& path, int world_size, long batch_size) {
  if (saved.batch_in_epoch == 0) return;
  if (saved.world_size == 0 || saved.batch_size == 0) {
    log::job().warn("{} records no rank count or batch size (nucseg 0.1): resuming mid-epoch assumes {} rank(s) x "
                    "batch {} as now", path, world_size, batch_size);
    return;
  }
  if (saved.world_size == world_size && saved.batch_size == batch_size) return;
  throw_config(saved.batch_size != batch_size ? "train.batch_size" : "train.output",
               "cannot resume " + path + " mid-epoch (batch " + std::to_string(saved.batch_in_epoch) + " of epoch " +
                   std::to_string(saved.epoch + 1) + "): it was written by " + std::to_string(saved.world_size) +
                   " rank(s) x batch " + std::to_string(saved.batch_size) + ", this run has " +
                   std::to_string(world_size) + " x " + std::to_string(batch_size) +
                   ", which would repeat some samples of the epoch and skip others. Resume with the same ranks "
                   "and train.batch_size, or start a new run directory");
}

double train_bucket_mb(double requested, const torch::Device& device) {
  if (requested < 0) throw_config("train.bucket_mb", "must be >= 0 (0: auto), got " + std::to_string(requested));
  if (requested > 0) return requested;
  return device.is_cpu() ? kCpuOneBucketMb : 4.0;
}

std::unique_ptr<dist::GradientSync> make_gradient_sync(const dist::World& world, std::vector<torch::Tensor> params,
                                                       double bucket_mb, const torch::Device& device) {
  if (world.size() == 1) return nullptr;
  return std::make_unique<dist::GradientSync>(world, std::move(params), train_bucket_mb(bucket_mb, device), true,
                                              dist::GradientSync::Transport::automatic,
                                              dist::GradientSync::Mean::prescaled);
}

}  // namespace nucseg::train
