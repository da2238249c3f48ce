// A run's checkpoint folder: retention of the last K plus best.pt; leftover temporaries of a
// killed writer ignored and removed, torn and damaged files skipped; a folder of nothing but
// unusable checkpoints is an error, not a fresh start.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/train/checkpoint_dir.hpp"
#include "../model/checkpoint_damage.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg::model;
using namespace nucseg::train;

namespace {

stdfs::path fresh_dir(const char* name) {
  // The pid in the name: test runs of two checkouts at once must not share a folder.
  auto dir = stdfs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir;
}

// One Adam step, so the optimizer has state to save.
void step(torch::nn::Linear& m, torch::optim::Adam& opt) {
  opt.zero_grad();
  m->forward(torch::ones({2, 3})).pow(2).sum().backward();
  opt.step();
}

// Changes one weight inside the file.
void change_weight(const stdfs::path& file, const torch::Tensor& weight) {
  ASSERT_TRUE(nucseg::testing::overwrite_in_file(file, weight, -1.7e36f));
}

}  // namespace

TEST(CheckpointDir, RetentionKeepsLastKAndBest) {
  auto dir = fresh_dir("nucseg_ckpt_retention");
  torch::nn::Linear m(3, 4);
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

TEST(CheckpointDir, LatestIgnoresAndRemovesTemporariesAndSkipsTornFiles) {
  auto dir = fresh_dir("nucseg_ckpt_latest");
  torch::nn::Linear m(3, 4);
  torch::optim::Adam opt(m->parameters());
  CheckpointDir ckpts(dir, 5);
  EXPECT_FALSE(ckpts.latest().has_value());
  TrainState st;
  st.step = 7;
  ckpts.save(*m, &opt, st);
  // A writer killed mid-save leaves a temporary of a later step; a torn final file (written
  // without the rename protocol, e.g. by hand) must be skipped too. A temporary whose writer
  // still runs (here: this process) is left alone.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto tmp = dir / (step_checkpoint_name(9) + ".tmp-" + std::to_string(child));
  auto live = nucseg::fs::temporary_sibling(dir / step_checkpoint_name(10));
  { std::ofstream(tmp) << "partial"; }
  { std::ofstream(live) << "being written"; }
  { std::ofstream(dir / step_checkpoint_name(8)) << "torn"; }
  auto latest = ckpts.latest();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "ckpt-step-00000007.pt");
  EXPECT_FALSE(stdfs::exists(tmp));
  EXPECT_TRUE(stdfs::exists(live));
  stdfs::remove_all(dir);
}

// A newest checkpoint whose weights changed after it was written (its hash no longer matches)
// is skipped like a cut-short one: the newest intact checkpoint is resumed, with a warning,
// instead of the damaged one blocking the resume (exit 1). Other errors of the check pass.
TEST(CheckpointDir, LatestFallsBackPastADamagedCheckpoint) {
  auto dir = fresh_dir("nucseg_ckpt_damaged_latest");
  torch::nn::Linear m(3, 4);
  torch::optim::Adam opt(m->parameters());
  CheckpointDir ckpts(dir, 5);
  TrainState st;
  for (long s : {5, 7}) {
    step(m, opt);
    st.step = s;
    ckpts.save(*m, &opt, st);
  }
  change_weight(dir / step_checkpoint_name(7), m->weight);
  auto load = [](const stdfs::path& file) {
    torch::nn::Linear n(3, 4);
    torch::optim::Adam o(n->parameters());
    load_checkpoint(file, *n, &o);
  };
  auto latest = ckpts.latest(load);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), step_checkpoint_name(5));
  EXPECT_TRUE(stdfs::exists(dir / step_checkpoint_name(7))) << "the damaged file is left for the user";
  EXPECT_THROW(ckpts.latest([](const stdfs::path&) { nucseg::throw_config("model.classes", "differs"); }),
               nucseg::Error);
  stdfs::remove_all(dir);
}

// Checkpoints that all fail (one cut short, one with a changed weight): an error naming both
// and what to do, not a fresh start that would overwrite best.pt and metrics.csv and rotate the
// files away. An empty folder is still a fresh run.
TEST(CheckpointDir, NoUsableCheckpointIsAnErrorNotAFreshStart) {
  auto dir = fresh_dir("nucseg_ckpt_none_usable");
  torch::nn::Linear m(3, 4);
  torch::optim::Adam opt(m->parameters());
  CheckpointDir ckpts(dir, 5);
  EXPECT_FALSE(ckpts.latest().has_value());
  step(m, opt);
  TrainState st;
  st.step = 4;
  ckpts.save(*m, &opt, st);
  change_weight(dir / step_checkpoint_name(4), m->weight);
  { std::ofstream(dir / step_checkpoint_name(6)) << "cut short"; }
  auto load = [](const stdfs::path& file) {
    torch::nn::Linear n(3, 4);
    load_checkpoint(file, *n, nullptr);
  };
  try {
    ckpts.latest(load);
    ADD_FAILURE() << "a folder of unusable checkpoints counted as a fresh run";
  } catch (const nucseg::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_EQ(e.context().file, dir.string());
    EXPECT_NE(what.find(step_checkpoint_name(6) + ", " + step_checkpoint_name(4)), std::string::npos) << what;
    EXPECT_NE(what.find("move the checkpoints out of"), std::string::npos) << what;
  }
  EXPECT_EQ(ckpts.list().size(), 2u) << "nothing deleted";
  stdfs::remove_all(dir);
}
