// The checkpoint format: exact round trip of model, Adam state and run state; clear errors for
// missing or mismatched files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <torch/torch.h>
#include <unistd.h>

#include "nucseg/core/error.hpp"
#include "nucseg/model/checkpoint.hpp"

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

  auto weight = a->conv->weight.detach().contiguous();
  std::ifstream in(dir / "best.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string needle(static_cast<const char*>(weight.data_ptr()), 32);
  auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos) << "the weight's bytes are not stored as they are";
  const float bad = -1.7e36f;
  std::memcpy(&bytes[at + 8], &bad, sizeof bad);
  std::ofstream(dir / "best.pt", std::ios::binary | std::ios::trunc) << bytes;
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
