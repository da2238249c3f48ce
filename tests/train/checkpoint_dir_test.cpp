// A run's checkpoint folder: retention of the last K plus best.pt; leftover temporaries of a
// killed writer ignored and removed, torn files skipped.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

stdfs::path fresh_dir(const char* name) {
  // The pid in the name: test runs of two checkouts at once must not share a folder.
  auto dir = stdfs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir;
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
