// The checkpoint format: exact round trip of model, Adam state and run state; clear errors for
// missing or mismatched files, damaged weights or optimizer state, non-finite weights and a
// full disk.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include <torch/torch.h>
#include <unistd.h>

#include "nucseg/core/error.hpp"
#include "nucseg/model/checkpoint.hpp"
#include "checkpoint_damage.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg::model;

namespace {

struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
  }
  torch::Tensor forward(const torch::Tensor& x) { return bn(conv(x)); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(Tiny);

void train_steps(Tiny& model, torch::optim::Adam& opt, int steps) {
  for (int i = 0; i < steps; ++i) {
    auto x = torch::rand({2, 3, 8, 8});
    opt.zero_grad();
    auto loss = model->forward(x).pow(2).mean();
    loss.backward();
    opt.step();
  }
}

bool same_parameters(Tiny& a, Tiny& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  auto ba = a->named_buffers(), bb = b->named_buffers();
  for (auto& p : ba)
    if (!torch::equal(p.value(), bb[p.key()])) return false;
  return true;
}

stdfs::path fresh_dir(const char* name) {
  // The pid in the name: test runs of two checkouts at once must not share a folder.
  auto dir = stdfs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(Checkpoint, ResumedTrainingMatchesUninterruptedTraining) {
  auto dir = fresh_dir("nucseg_ckpt_roundtrip");
  torch::manual_seed(3);
  Tiny a;
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(1e-2));
  train_steps(a, opt_a, 3);
  CheckpointState st;
  st.epoch = 2;
  st.step = 3;
  st.batch_in_epoch = 1;
  st.seed = 77;
  st.best_score = 0.5;
  st.best_step = 2;
  st.classes = 3;
  st.distance_head = true;
  st.flow_head = true;
  st.full_res = 16;
  st.decoder_width = 0.5;
  st.nucleus_diameter = 17.25;
  st.train_seconds = 123.5;
  st.config = "[train]\nlr = 0.01\n";
  save_checkpoint(dir / "c.pt", *a, &opt_a, st);
  train_steps(a, opt_a, 2);  // the uninterrupted run continues (random inputs from the generator)

  torch::manual_seed(99);  // a different process state; the checkpoint restores the generator
  Tiny b;
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(1e-2));
  auto loaded = load_checkpoint(dir / "c.pt", *b, &opt_b);
  EXPECT_EQ(loaded.epoch, 2);
  EXPECT_EQ(loaded.step, 3);
  EXPECT_EQ(loaded.batch_in_epoch, 1);
  EXPECT_EQ(loaded.seed, 77);
  EXPECT_DOUBLE_EQ(loaded.best_score, 0.5);
  EXPECT_EQ(loaded.best_step, 2);
  EXPECT_EQ(loaded.classes, 3);
  EXPECT_TRUE(loaded.distance_head);
  EXPECT_TRUE(loaded.flow_head);
  EXPECT_EQ(loaded.full_res, 16);
  EXPECT_DOUBLE_EQ(loaded.decoder_width, 0.5);
  EXPECT_DOUBLE_EQ(loaded.nucleus_diameter, 17.25);
  EXPECT_DOUBLE_EQ(read_checkpoint_state(dir / "c.pt").nucleus_diameter, 17.25);
  EXPECT_DOUBLE_EQ(loaded.train_seconds, 123.5);
  EXPECT_EQ(loaded.config, st.config);
  train_steps(b, opt_b, 2);
  EXPECT_TRUE(same_parameters(a, b)) << "Adam moments, parameters, buffers or RNG were not restored";
  stdfs::remove_all(dir);
}

// A checkpoint written before "nucleus_diameter", "train_seconds", "distance_head", "flow_head", "full_res" and "decoder_width" existed
// reads them as 0 (unknown; no head; decoder_width 1, the seed's), not as an error.
TEST(Checkpoint, FieldsMissingInOlderFilesReadAsZero) {
  auto dir = fresh_dir("nucseg_ckpt_old");
  Tiny m;
  torch::serialize::OutputArchive archive, model_archive;
  m->save(model_archive);
  archive.write("model", model_archive);
  for (const char* key : {"epoch", "step", "batch_in_epoch", "seed", "best_step", "classes"})
    archive.write(key, torch::tensor(int64_t{4}, torch::kInt64));
  archive.write("best_score", torch::tensor(0.25, torch::kFloat64));
  archive.save_to((dir / "old.pt").string());
  auto st = read_checkpoint_state(dir / "old.pt");
  EXPECT_EQ(st.classes, 4);
  EXPECT_FALSE(st.distance_head);
  EXPECT_FALSE(st.flow_head);
  EXPECT_EQ(st.full_res, 0);
  EXPECT_DOUBLE_EQ(st.decoder_width, 1.0);
  EXPECT_EQ(st.nucleus_diameter, 0.0);
  EXPECT_EQ(st.train_seconds, 0.0);
  Tiny n;
  EXPECT_EQ(load_checkpoint(dir / "old.pt", *n, nullptr).nucleus_diameter, 0.0);
  stdfs::remove_all(dir);
}

TEST(Checkpoint, MissingOrMismatchedFileIsADataError) {
  auto dir = fresh_dir("nucseg_ckpt_errors");
  Tiny m;
  EXPECT_THROW(load_checkpoint(dir / "none.pt", *m, nullptr), nucseg::Error);
  save_checkpoint(dir / "tiny.pt", *m, nullptr, CheckpointState{});
  torch::nn::Linear other(3, 3);
  try {
    load_checkpoint(dir / "tiny.pt", *other, nullptr);
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("tiny.pt"), std::string::npos);
  }
  stdfs::remove_all(dir);
}

// A weight changed inside the file after it was written (torch's reader checks no CRC) is
// refused; a checkpoint of nucseg 0.1, which records no model hash, still loads.
TEST(Checkpoint, AChangedWeightIsRefusedAndOldFilesStillLoad) {
  auto dir = fresh_dir("nucseg_ckpt_damaged");
  torch::manual_seed(5);
  Tiny a;
  CheckpointState st;
  st.classes = 3;
  save_checkpoint(dir / "best.pt", *a, nullptr, st);
  Tiny b;
  ASSERT_NO_THROW(load_checkpoint(dir / "best.pt", *b, nullptr));
  EXPECT_EQ(model_tensors_hash(*a), model_tensors_hash(*b));

  ASSERT_TRUE(nucseg::testing::overwrite_in_file(dir / "best.pt", a->conv->weight, -1.7e36f))
      << "the weight's bytes are not stored as they are";
  Tiny c;
  try {
    load_checkpoint(dir / "best.pt", *c, nullptr);
    ADD_FAILURE() << "a damaged checkpoint loaded";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }

  // The layout nucseg 0.1 wrote: the same keys without "model_hash".
  torch::serialize::OutputArchive old, model_part;
  a->save(model_part);
  old.write("model", model_part);
  for (const char* key : {"epoch", "step", "batch_in_epoch", "seed", "best_step", "classes"})
    old.write(key, torch::tensor(int64_t{3}, torch::kInt64));
  old.write("best_score", torch::tensor(0.5, torch::kFloat64));
  old.save_to((dir / "old.pt").string());
  Tiny d;
  EXPECT_EQ(load_checkpoint(dir / "old.pt", *d, nullptr).classes, 3);
  EXPECT_TRUE(same_parameters(a, d));
  stdfs::remove_all(dir);
}

// The network to rebuild for a checkpoint: its recorded classes, heads and full_res override the
// caller's configuration, an unrecorded class count (0, older files) keeps the caller's, and no
// ImageNet file or freezing is asked for (the checkpoint holds every weight).
TEST(Checkpoint, ModelConfigFollowsTheRecordedArchitecture) {
  nucseg::ModelConfig base;
  base.classes = 3;
  base.encoder_weights = "imagenet.h5";
  base.freeze_encoder = nucseg::TriState::yes;
  CheckpointState state;
  state.classes = 4;
  state.distance_head = true;
  state.flow_head = true;
  state.full_res = 8;
  state.decoder_width = 0.25;
  const auto mc = checkpoint_model_config(state, base);
  EXPECT_EQ(mc.classes, 4);
  EXPECT_TRUE(mc.distance_head);
  EXPECT_TRUE(mc.flow_head);
  EXPECT_EQ(mc.full_res, 8);
  EXPECT_DOUBLE_EQ(mc.decoder_width, 0.25);
  EXPECT_TRUE(mc.encoder_weights.empty());
  EXPECT_EQ(mc.freeze_encoder, nucseg::TriState::automatic);
  state.classes = 0;
  state.distance_head = false;
  state.flow_head = false;
  state.full_res = 0;
  base.distance_head = true;
  base.flow_head = true;
  base.full_res = 16;
  const auto old = checkpoint_model_config(state, base);
  EXPECT_EQ(old.classes, 3);
  EXPECT_FALSE(old.distance_head);
  EXPECT_FALSE(old.flow_head);
  EXPECT_EQ(old.full_res, 0);
}

// What a training run records and what inference rebuilds are inverses: every architecture
// field of a ModelConfig goes through record_architecture and back through
// checkpoint_model_config unchanged.
TEST(Checkpoint, ArchitectureRoundTrips) {
  nucseg::ModelConfig model;
  model.classes = 4;
  model.distance_head = true;
  model.flow_head = true;
  model.full_res = 24;
  model.decoder_width = 0.5;
  CheckpointState state;
  record_architecture(state, model, 4);
  const auto back = checkpoint_model_config(state);
  EXPECT_EQ(back.classes, 4);
  EXPECT_TRUE(back.distance_head);
  EXPECT_TRUE(back.flow_head);
  EXPECT_EQ(back.full_res, 24);
  EXPECT_DOUBLE_EQ(back.decoder_width, 0.5);
}

// Damage in Adam's moments (here exp_avg_sq, which the next update divides by) is refused like
// damage in the weights: the checkpoint records optimizer_hash. Inference, which loads no
// optimizer, still reads the intact model. A file written before optimizer_hash existed loads
// with a warning while its moments are finite, and is refused when they are not.
TEST(Checkpoint, ADamagedOptimizerStateIsRefused) {
  auto dir = fresh_dir("nucseg_ckpt_optim");
  torch::manual_seed(8);
  Tiny a;
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(1e-2));
  train_steps(a, opt_a, 2);
  save_checkpoint(dir / "c.pt", *a, &opt_a, CheckpointState{});
  Tiny b;
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(1e-2));
  ASSERT_NO_THROW(load_checkpoint(dir / "c.pt", *b, &opt_b));
  EXPECT_EQ(optimizer_state_hash(opt_a), optimizer_state_hash(opt_b));

  const auto key = [](const torch::Tensor& p) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  };
  auto& state = static_cast<torch::optim::AdamParamState&>(*opt_a.state().at(key(a->conv->weight)));
  ASSERT_TRUE(nucseg::testing::overwrite_in_file(dir / "c.pt", state.exp_avg_sq(), -1e-3f));
  Tiny c;
  torch::optim::Adam opt_c(c->parameters(), torch::optim::AdamOptions(1e-2));
  try {
    load_checkpoint(dir / "c.pt", *c, &opt_c);
    ADD_FAILURE() << "damaged optimizer state loaded";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("optimizer state"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("c.pt"), std::string::npos) << e.what();
  }
  Tiny d;
  EXPECT_NO_THROW(load_checkpoint(dir / "c.pt", *d, nullptr)) << "the model itself is intact";

  // The layout before optimizer_hash: the same archive without that key.
  auto write_old = [&](const stdfs::path& file) {
    torch::serialize::OutputArchive old, model_part, optim_part;
    a->save(model_part);
    old.write("model", model_part);
    opt_a.save(optim_part);
    old.write("optimizer", optim_part);
    for (const char* k : {"epoch", "step", "batch_in_epoch", "seed", "best_step", "classes"})
      old.write(k, torch::tensor(int64_t{2}, torch::kInt64));
    old.write("best_score", torch::tensor(0.5, torch::kFloat64));
    old.write("model_hash", c10::IValue(model_tensors_hash(*a)));
    old.save_to(file.string());
  };
  write_old(dir / "old.pt");
  Tiny e;
  torch::optim::Adam opt_e(e->parameters(), torch::optim::AdamOptions(1e-2));
  EXPECT_NO_THROW(load_checkpoint(dir / "old.pt", *e, &opt_e));
  EXPECT_EQ(optimizer_state_hash(opt_a), optimizer_state_hash(opt_e));
  state.exp_avg_sq()[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  write_old(dir / "old_nan.pt");
  Tiny f;
  torch::optim::Adam opt_f(f->parameters(), torch::optim::AdamOptions(1e-2));
  EXPECT_THROW(load_checkpoint(dir / "old_nan.pt", *f, &opt_f), nucseg::Error);
  stdfs::remove_all(dir);
}

// Weights holding NaN or infinity (an update that overflowed) are never written under a
// checkpoint's name, and a file that holds them (written by an older version, whose hash
// matches) is refused on load, naming the file: inference and resume alike.
TEST(Checkpoint, NonFiniteWeightsAreNeitherWrittenNorLoaded) {
  auto dir = fresh_dir("nucseg_ckpt_nonfinite");
  Tiny a;
  {
    torch::NoGradGuard no_grad;
    a->bn->running_var[1] = std::numeric_limits<float>::infinity();
  }
  try {
    save_checkpoint(dir / "best.pt", *a, nullptr, CheckpointState{});
    ADD_FAILURE() << "a model holding infinity was written";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().file, (dir / "best.pt").string());
    EXPECT_NE(std::string(e.what()).find("bn.running_var"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(stdfs::is_empty(dir)) << "a file or temporary was left";

  torch::serialize::OutputArchive archive, model_part;  // what an older version wrote
  a->save(model_part);
  archive.write("model", model_part);
  for (const char* k : {"epoch", "step", "batch_in_epoch", "seed", "best_step", "classes"})
    archive.write(k, torch::tensor(int64_t{1}, torch::kInt64));
  archive.write("best_score", torch::tensor(0.5, torch::kFloat64));
  archive.write("model_hash", c10::IValue(model_tensors_hash(*a)));
  archive.save_to((dir / "inf.pt").string());
  Tiny b;
  try {
    load_checkpoint(dir / "inf.pt", *b, nullptr);
    ADD_FAILURE() << "a checkpoint holding infinity loaded";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_EQ(e.context().file, (dir / "inf.pt").string());
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
  stdfs::remove_all(dir);
}

// A full disk while a checkpoint is written, simulated by a file-size limit (EFBIG; a tmpfs
// needs root): an Error naming the checkpoint and the system's reason, no temporary left, the
// process alive. torch's file writer used to throw again from its destructor: std::terminate.
TEST(Checkpoint, AFullDiskIsAnErrorAndLeavesNothingBehind) {
  auto dir = fresh_dir("nucseg_ckpt_full");
  const pid_t child = ::fork();
  if (child == 0) {
    // Tensors under ATen's grain size: no OpenMP region in the forked child.
    at::set_num_threads(1);
    torch::nn::Sequential net;
    for (int i = 0; i < 40; ++i) net->push_back(torch::nn::Linear(64, 64));  // 666 KB of weights
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 1;
    try {
      save_checkpoint(dir / "c.pt", *net, nullptr, CheckpointState{});
    } catch (const nucseg::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      const bool named = e.context().file == (dir / "c.pt").string();
      const bool why = std::string(e.what()).find(std::strerror(EFBIG)) != std::string::npos;
      code = named && why ? 0 : 2;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: error without the file or reason, 3: not an Error";
  EXPECT_TRUE(stdfs::is_empty(dir)) << "a file or temporary was left";
  stdfs::remove_all(dir);
}
