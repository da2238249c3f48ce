// Checkpoint files: one torch archive per checkpoint, written atomically.
#include "nucseg/model/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::model {
namespace stdfs = std::filesystem;
namespace {

void write_long(torch::serialize::OutputArchive& a, const char* key, long v) {
  a.write(key, torch::tensor(static_cast<int64_t>(v), torch::kInt64));
}
void write_double(torch::serialize::OutputArchive& a, const char* key, double v) {
  a.write(key, torch::tensor(v, torch::kFloat64));
}
long read_long(torch::serialize::InputArchive& a, const char* key) {
  torch::Tensor t;
  a.read(key, t);
  return static_cast<long>(t.item<int64_t>());
}
double read_double(torch::serialize::InputArchive& a, const char* key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<double>();
}

// torch's messages carry a C++ backtrace; users need only the first line of the reason.
std::string reason(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return c10e->what_without_backtrace();
  return e.what();
}

CheckpointState read_state(torch::serialize::InputArchive& a) {
  CheckpointState s;
  s.epoch = read_long(a, "epoch");
  s.step = read_long(a, "step");
  s.batch_in_epoch = read_long(a, "batch_in_epoch");
  s.seed = read_long(a, "seed");
  s.best_score = read_double(a, "best_score");
  s.best_step = read_long(a, "best_step");
  s.classes = read_long(a, "classes");
  torch::Tensor optional;  // fields older checkpoints lack (0 = unknown)
  if (a.try_read("nucleus_diameter", optional)) s.nucleus_diameter = optional.item<double>();
  if (a.try_read("train_seconds", optional)) s.train_seconds = optional.item<double>();
  c10::IValue config;
  if (a.try_read("config", config) && config.isString()) s.config = config.toStringRef();
  // Optional (absent in files of nucseg 0.1). A fresh tensor per key: try_read copies into a
  // defined tensor, converting to its type.
  auto optional_long = [&a](const char* key, long& into) {
    torch::Tensor t;
    if (a.try_read(key, t)) into = static_cast<long>(t.item<int64_t>());
  };
  long distance_head = 0;
  optional_long("distance_head", distance_head);
  s.distance_head = distance_head != 0;
  long flow_head = 0;
  optional_long("flow_head", flow_head);
  s.flow_head = flow_head != 0;
  optional_long("full_res", s.full_res);
  if (a.try_read("decoder_width", optional)) s.decoder_width = optional.item<double>();
  optional_long("world_size", s.world_size);
  optional_long("batch_size", s.batch_size);
  optional_long("epoch_loss_count", s.epoch_loss_count);
  torch::Tensor sum;
  if (a.try_read("epoch_loss_sum", sum)) s.epoch_loss_sum = sum.item<double>();
  return s;
}

void open_archive(torch::serialize::InputArchive& a, const stdfs::path& file, torch::Device device = torch::kCPU) {
  if (!stdfs::exists(file)) throw_data(file.string(), "checkpoint not found");
  try {
    a.load_from(file.string(), device);
  } catch (const std::exception& e) {
    throw_data(file.string(), "cannot read checkpoint: " + reason(e));
  }
}

// The default CUDA generator of the calling thread's current device (the rank's GPU: training
// makes it current). Device-generic (LibTorch's context and device guard, the same calls in
// 1.13 and 2.x), so this builds with a CPU-only LibTorch, where torch::cuda::is_available() is
// false and it is never called.
at::Generator current_cuda_generator() {
  const c10::Device current = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->getDevice();
  return at::globalContext().defaultGenerator(current);
}

// A checkpoint records hashes of its model's tensors and of the optimizer state; loading
// recomputes them from what was read. torch's archive reader checks no CRC, so without them a
// changed weight or Adam moment loads silently.
std::string read_hash(torch::serialize::InputArchive& a, const char* key) {
  c10::IValue v;
  if (a.try_read(key, v) && v.isString()) return v.toStringRef();
  return {};
}

// Name, dtype, shape and bytes of `t` into the FNV-1a state `h`.
void mix_tensor(uint64_t& h, const std::string& name, const torch::Tensor& t) {
  h = fs::fnv1a(name.c_str(), name.size() + 1, h);
  auto c = t.detach().to(torch::kCPU).contiguous();
  int64_t type = static_cast<int64_t>(c.scalar_type());
  h = fs::fnv1a(&type, sizeof type, h);
  for (int64_t size : c.sizes()) h = fs::fnv1a(&size, sizeof size, h);
  h = fs::fnv1a(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), h);
}

bool finite(const torch::Tensor& t) {
  return !t.defined() || !t.is_floating_point() || torch::isfinite(t.detach()).all().item<bool>();
}

// Adam's state of `p`, or null (no step taken yet, or another optimizer). The optimizer keys its
// state by the parameter's TensorImpl address as torch prints it (optim/serialize.h).
const torch::optim::AdamParamState* adam_state(torch::optim::Optimizer& optimizer, const torch::Tensor& p) {
  std::ostringstream key;
  key << p.unsafeGetTensorImpl();
  auto it = optimizer.state().find(key.str());
  return it == optimizer.state().end() ? nullptr : dynamic_cast<const torch::optim::AdamParamState*>(it->second.get());
}

// Without a recorded optimizer_hash (older files) damage cannot be told from a change; what
// would poison the next update (NaN or infinite moments, a negative second moment) can.
std::string unusable_adam_state(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params())
      if (const auto* s = adam_state(optimizer, p)) {
        if (!finite(s->exp_avg()) || !finite(s->exp_avg_sq()) || !finite(s->max_exp_avg_sq()))
          return "NaN or infinite moments";
        if (s->exp_avg_sq().defined() && (s->exp_avg_sq() < 0).any().item<bool>()) return "a negative second moment";
      }
  return {};
}

}  // namespace

std::string model_tensors_hash(torch::nn::Module& model) {
  uint64_t h = fs::kFnvOffsetBasis;
  for (const auto& p : model.named_parameters(true)) mix_tensor(h, "p:" + p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) mix_tensor(h, "b:" + b.key(), b.value());
  return fs::to_hex(h);
}

std::string optimizer_state_hash(torch::optim::Optimizer& optimizer) {
  uint64_t h = fs::kFnvOffsetBasis;
  int64_t index = 0;
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) {
      h = fs::fnv1a(&index, sizeof index, h);
      ++index;
      const auto* s = adam_state(optimizer, p);
      if (!s) continue;
      const int64_t step = s->step();
      h = fs::fnv1a(&step, sizeof step, h);
      mix_tensor(h, "exp_avg", s->exp_avg());
      mix_tensor(h, "exp_avg_sq", s->exp_avg_sq());
      if (s->max_exp_avg_sq().defined()) mix_tensor(h, "max_exp_avg_sq", s->max_exp_avg_sq());
    }
  return fs::to_hex(h);
}

std::string non_finite_tensor(const torch::nn::Module& model) {
  for (const auto& p : model.named_parameters(true))
    if (!finite(p.value())) return p.key();
  for (const auto& b : model.named_buffers(true))
    if (!finite(b.value())) return b.key();
  return {};
}

namespace {

void write_state(torch::serialize::OutputArchive& archive, const CheckpointState& state) {
  write_long(archive, "epoch", state.epoch);
  write_long(archive, "step", state.step);
  write_long(archive, "batch_in_epoch", state.batch_in_epoch);
  write_long(archive, "seed", state.seed);
  write_double(archive, "best_score", state.best_score);
  write_long(archive, "best_step", state.best_step);
  write_long(archive, "classes", state.classes);
  write_long(archive, "distance_head", state.distance_head ? 1 : 0);
  write_long(archive, "flow_head", state.flow_head ? 1 : 0);
  write_long(archive, "full_res", state.full_res);
  write_double(archive, "decoder_width", state.decoder_width);
  write_double(archive, "nucleus_diameter", state.nucleus_diameter);
  write_double(archive, "train_seconds", state.train_seconds);
  write_long(archive, "world_size", state.world_size);
  write_long(archive, "batch_size", state.batch_size);
  write_double(archive, "epoch_loss_sum", state.epoch_loss_sum);
  write_long(archive, "epoch_loss_count", state.epoch_loss_count);
  archive.write("config", c10::IValue(state.config));
}

void write_generators(torch::serialize::OutputArchive& archive) {
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng", gen.get_state());
  }
  if (torch::cuda::is_available()) {
    auto gen = current_cuda_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("cuda_rng", gen.get_state());
  }
}

void restore_generators(torch::serialize::InputArchive& archive) {
  torch::Tensor rng;
  if (archive.try_read("rng", rng)) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng.to(torch::kCPU));
  }
  // Written on a GPU: CUDA-side random draws continue where they were (ignored without a GPU).
  torch::Tensor cuda_rng;
  if (torch::cuda::is_available() && archive.try_read("cuda_rng", cuda_rng)) {
    auto gen = current_cuda_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda_rng.to(torch::kCPU));
  }
}

// After model.load(): the weights are those written (model_hash) and usable (finite).
void verify_model(torch::serialize::InputArchive& archive, const stdfs::path& file, torch::nn::Module& model) {
  const auto recorded = read_hash(archive, "model_hash");
  if (recorded.empty()) {
    log::rank().warn("{}: checkpoint records no model hash (written before nucseg 0.2): its weights are not verified",
                     file.string());
  } else if (const auto actual = model_tensors_hash(model); actual != recorded) {
    throw_data(file.string(), "checkpoint is damaged: its model tensors hash to " + actual + ", the file recorded " +
                                  recorded + " when it was written");
  }
  // Hash intact but NaN or infinite: written after an update that overflowed, by a version
  // that did not refuse to (nucseg now never writes such a file).
  if (const auto bad = non_finite_tensor(model); !bad.empty())
    throw_data(file.string(), "checkpoint weights are not finite (NaN or infinite values in " + bad +
                                  "): the model is unusable; take an earlier checkpoint of the run");
}

void load_optimizer(torch::serialize::InputArchive& archive, const stdfs::path& file,
                    torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive optim_archive;
  if (!archive.try_read("optimizer", optim_archive))
    throw_data(file.string(), "checkpoint holds no optimizer state (a model-only file such as best.pt?)");
  optimizer.state().clear();  // nothing of an earlier load (a damaged file tried first) survives
  optimizer.load(optim_archive);
  const auto recorded = read_hash(archive, "optimizer_hash");
  if (!recorded.empty()) {
    if (const auto actual = optimizer_state_hash(optimizer); actual != recorded)
      throw_data(file.string(), "checkpoint is damaged: its optimizer state hashes to " + actual +
                                    ", the file recorded " + recorded + " when it was written");
    return;
  }
  if (const auto bad = unusable_adam_state(optimizer); !bad.empty())
    throw_data(file.string(), "checkpoint is damaged: its optimizer state holds " + bad);
  log::rank().warn("{}: checkpoint records no optimizer hash (written before it was recorded): its optimizer state is "
                   "checked for NaN, infinite and negative values only", file.string());
}

}  // namespace

void save_checkpoint(const stdfs::path& file, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const CheckpointState& state) {
  if (const auto bad = non_finite_tensor(model); !bad.empty())
    throw_runtime("checkpoint not written: the model's " + bad + " holds NaN or infinite values", file.string());
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optim_archive;
    optimizer->save(optim_archive);
    archive.write("optimizer", optim_archive);
    archive.write("optimizer_hash", c10::IValue(optimizer_state_hash(*optimizer)));
  }
  write_state(archive, state);
  archive.write("model_hash", c10::IValue(model_tensors_hash(model)));
  write_generators(archive);
  // Into memory first, then one checked write: torch's file writer, on a full disk, throws
  // again from its destructor while the first exception unwinds (std::terminate, a .tmp left).
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  try {
    fs::write_file_atomic(file, bytes);  // fsync'ed; the temporary removed on failure
  } catch (const Error& e) {
    throw_runtime("cannot write checkpoint: " + e.message() + " (the partial file was removed)", file.string());
  }
}

CheckpointState load_checkpoint(const stdfs::path& file, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                                 torch::Device device) {
  torch::serialize::InputArchive archive;
  open_archive(archive, file, device);
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    verify_model(archive, file, model);
    if (optimizer) load_optimizer(archive, file, *optimizer);
    restore_generators(archive);
    return read_state(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_data(file.string(), "checkpoint does not match this model: " + reason(e));
  }
}

CheckpointState read_checkpoint_state(const stdfs::path& file) {
  torch::serialize::InputArchive archive;
  open_archive(archive, file);
  try {
    return read_state(archive);
  } catch (const std::exception& e) {
    throw_data(file.string(), "checkpoint lacks its run state: " + reason(e));
  }
}

ModelConfig checkpoint_model_config(const CheckpointState& state, ModelConfig base) {
  base.encoder_weights.clear();
  base.freeze_encoder = TriState::automatic;
  if (state.classes > 0) base.classes = static_cast<int>(state.classes);
  base.distance_head = state.distance_head;
  base.flow_head = state.flow_head;
  base.full_res = static_cast<int>(state.full_res);
  base.decoder_width = state.decoder_width;
  return base;
}

void record_architecture(CheckpointState& state, const ModelConfig& model, long classes) {
  state.classes = classes;
  state.distance_head = model.distance_head;
  state.flow_head = model.flow_head;
  state.full_res = model.full_res;
  state.decoder_width = model.decoder_width;
}

std::string step_checkpoint_name(long step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-step-%08ld.pt", step);
  return name;
}

std::vector<stdfs::path> list_step_checkpoints(const stdfs::path& dir) {
  static const std::regex pattern(R"(ckpt-step-(\d+)\.pt)");
  std::vector<std::pair<long, stdfs::path>> found;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::smatch m;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, m, pattern)) found.emplace_back(std::stol(m[1].str()), it->path());
  }
  if (ec) throw_runtime("cannot list checkpoints: " + ec.message(), dir.string());
  std::sort(found.begin(), found.end());
  std::vector<stdfs::path> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

}  // namespace nucseg::model
