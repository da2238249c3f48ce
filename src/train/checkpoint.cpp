// Checkpoint files: one torch archive per checkpoint, written atomically, pruned to the last K.
#include "nucseg/train/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::train {
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

TrainState read_state(torch::serialize::InputArchive& a) {
  TrainState s;
  s.epoch = read_long(a, "epoch");
  s.step = read_long(a, "step");
  s.batch_in_epoch = read_long(a, "batch_in_epoch");
  s.seed = read_long(a, "seed");
  s.best_score = read_double(a, "best_score");
  s.best_step = read_long(a, "best_step");
  s.classes = read_long(a, "classes");
  c10::IValue config;
  if (a.try_read("config", config) && config.isString()) s.config = config.toStringRef();
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

}  // namespace

void save_checkpoint(const stdfs::path& file, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const TrainState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optim_archive;
    optimizer->save(optim_archive);
    archive.write("optimizer", optim_archive);
  }
  write_long(archive, "epoch", state.epoch);
  write_long(archive, "step", state.step);
  write_long(archive, "batch_in_epoch", state.batch_in_epoch);
  write_long(archive, "seed", state.seed);
  write_double(archive, "best_score", state.best_score);
  write_long(archive, "best_step", state.best_step);
  write_long(archive, "classes", state.classes);
  archive.write("config", c10::IValue(state.config));
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng", gen.get_state());
  }
  auto tmp = fs::temporary_sibling(file);
  try {
    archive.save_to(tmp.string());
  } catch (const std::exception& e) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw_runtime("cannot write checkpoint: " + reason(e), file.string());
  }
  fs::commit_rename(tmp, file);
}

TrainState load_checkpoint(const stdfs::path& file, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                           torch::Device device) {
  torch::serialize::InputArchive archive;
  open_archive(archive, file, device);
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optim_archive;
      if (!archive.try_read("optimizer", optim_archive))
        throw_data(file.string(), "checkpoint holds no optimizer state (a model-only file such as best.pt?)");
      optimizer->load(optim_archive);
    }
    torch::Tensor rng;
    if (archive.try_read("rng", rng)) {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.to(torch::kCPU));
    }
    return read_state(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_data(file.string(), "checkpoint does not match this model: " + reason(e));
  }
}

TrainState read_checkpoint_state(const stdfs::path& file) {
  torch::serialize::InputArchive archive;
  open_archive(archive, file);
  try {
    return read_state(archive);
  } catch (const std::exception& e) {
    throw_data(file.string(), "checkpoint lacks its run state: " + reason(e));
  }
}

CheckpointDir::CheckpointDir(stdfs::path dir, int keep) : dir_(std::move(dir)), keep_(std::max(1, keep)) {
  fs::create_directories(dir_);
}

std::string CheckpointDir::file_name(long step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-step-%08ld.pt", step);
  return name;
}

stdfs::path CheckpointDir::save(torch::nn::Module& model, torch::optim::Optimizer* optimizer, const TrainState& state) {
  auto file = dir_ / file_name(state.step);
  save_checkpoint(file, model, optimizer, state);
  prune();
  return file;
}

stdfs::path CheckpointDir::save_best(torch::nn::Module& model, const TrainState& state) {
  save_checkpoint(best_path(), model, nullptr, state);
  return best_path();
}

std::vector<stdfs::path> CheckpointDir::list() const {
  static const std::regex pattern(R"(ckpt-step-(\d+)\.pt)");
  std::vector<std::pair<long, stdfs::path>> found;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::smatch m;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, m, pattern)) found.emplace_back(std::stol(m[1].str()), it->path());
  }
  if (ec) throw_runtime("cannot list checkpoints: " + ec.message(), dir_.string());
  std::sort(found.begin(), found.end());
  std::vector<stdfs::path> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

void CheckpointDir::prune() {
  auto files = list();
  for (size_t i = 0; i + keep_ < files.size(); ++i) {
    std::error_code ec;
    stdfs::remove(files[i], ec);
    if (ec) throw_runtime("cannot remove old checkpoint: " + ec.message(), files[i].string());
  }
}

std::optional<stdfs::path> CheckpointDir::latest() {
  std::vector<stdfs::path> leftovers;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (fs::is_temporary_name(it->path())) leftovers.push_back(it->path());
  for (const auto& p : leftovers) {
    log::rank().info("removing leftover temporary checkpoint {}", p.string());
    std::error_code rm;
    stdfs::remove(p, rm);
  }
  auto files = list();
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      read_checkpoint_state(*it);
      return *it;
    } catch (const Error& e) {
      log::rank().warn("skipping unreadable checkpoint {}: {}", it->string(), e.message());
    }
  }
  return std::nullopt;
}

}  // namespace nucseg::train
