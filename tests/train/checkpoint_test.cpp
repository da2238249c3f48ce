// Checkpoints: exact round trip of model, Adam state and run state; atomic writes (leftover
// temporaries ignored and removed); retention of the last K plus best.pt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/train/checkpoint_dir.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg::model;
using namespace nucseg::train;

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
  auto dir = stdfs::temp_directory_path() / name;
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
  TrainState st;
  st.epoch = 2;
  st.step = 3;
  st.batch_in_epoch = 1;
  st.seed = 77;
  st.best_score = 0.5;
  st.best_step = 2;
  st.classes = 3;
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
  EXPECT_EQ(loaded.config, st.config);
  train_steps(b, opt_b, 2);
  EXPECT_TRUE(same_parameters(a, b)) << "Adam moments, parameters, buffers or RNG were not restored";
  stdfs::remove_all(dir);
}

TEST(Checkpoint, RetentionKeepsLastKAndBest) {
  auto dir = fresh_dir("nucseg_ckpt_retention");
  Tiny m;
  torch::optim::Adam opt(m->parameters());
  CheckpointDir ckpts(dir, 2);
  TrainState st;
  for (long step : {5, 10, 15, 20}) {
    st.step = step;
    ckpts.save(*m, &opt, st);
  }
  st.step = 10;
  ckpts.save_best(*m, st);
  auto files = ckpts.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "ckpt-step-00000015.pt");
  EXPECT_EQ(files[1].filename(), "ckpt-step-00000020.pt");
  EXPECT_TRUE(stdfs::exists(dir / "best.pt"));
  EXPECT_EQ(read_checkpoint_state(dir / "best.pt").step, 10);
  // best.pt is model-only: resuming the optimizer from it is refused clearly.
  EXPECT_THROW(load_checkpoint(dir / "best.pt", *m, &opt), nucseg::Error);
  stdfs::remove_all(dir);
}

TEST(Checkpoint, LatestIgnoresAndRemovesTemporariesAndSkipsTornFiles) {
  auto dir = fresh_dir("nucseg_ckpt_latest");
  Tiny m;
  torch::optim::Adam opt(m->parameters());
  CheckpointDir ckpts(dir, 5);
  EXPECT_FALSE(ckpts.latest().has_value());
  TrainState st;
  st.step = 7;
  ckpts.save(*m, &opt, st);
  // A writer killed mid-save leaves a temporary of a later step; a torn final file (written
  // without the rename protocol, e.g. by hand) must be skipped too.
  auto tmp = nucseg::fs::temporary_sibling(dir / step_checkpoint_name(9));
  { std::ofstream(tmp) << "partial"; }
  { std::ofstream(dir / step_checkpoint_name(8)) << "torn"; }
  auto latest = ckpts.latest();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "ckpt-step-00000007.pt");
  EXPECT_FALSE(stdfs::exists(tmp));
  for (auto& e : stdfs::directory_iterator(dir)) EXPECT_FALSE(nucseg::fs::is_temporary_name(e.path()));
  stdfs::remove_all(dir);
}

TEST(Checkpoint, MissingOrMismatchedFileIsADataError) {
  auto dir = fresh_dir("nucseg_ckpt_errors");
  Tiny m;
  EXPECT_THROW(load_checkpoint(dir / "none.pt", *m, nullptr), nucseg::Error);
  save_checkpoint(dir / "tiny.pt", *m, nullptr, TrainState{});
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
