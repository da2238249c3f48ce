// The real training loop (run_train, what nucseg_train runs) on 2 ranks: a run stopped
// mid-epoch (stop signal on one rank, then max_steps) and resumed from its checkpoints ends
// with the weights of an uninterrupted run, bit for bit; the same resume with the sampler
// position dropped ends elsewhere (so the comparison can fail). The learning rate the
// optimizer applied at each step is base_lr x ranks after warm-up with
// train.lr_scale_with_ranks, and base_lr by default. A stop for non-finite weights names the
// same last good checkpoint on both ranks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/pack/pack.hpp"
#include "nucseg/synth/writer.hpp"
#include "nucseg/train/checkpoint_dir.hpp"
#include "nucseg/train/setup.hpp"
#include "nucseg/train/trainer.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg;

namespace {

const dist::World& world() {
  static dist::World w(nullptr, nullptr);  // MPI is already up (MPI test main): no re-init
  return w;
}

// One folder per test process, named by rank 0 and shared by both ranks (same machine).
const stdfs::path& work_dir() {
  static const stdfs::path dir = [] {
    std::string name;
    if (world().is_root()) {
      name = (stdfs::temp_directory_path() / ("nucseg_dist_trainer_" + std::to_string(::getpid()))).string();
      stdfs::remove_all(name);
      fs::create_directories(name);
    }
    world().broadcast(name);
    return stdfs::path(name);
  }();
  return dir;
}

// Ten small generated images (nucseg_synth), packed (nucseg_pack) with a val split.
const stdfs::path& shards() {
  static const stdfs::path dir = [] {
    Config c;
    c.synth.output = (work_dir() / "raw").string();
    c.synth.count = 10;
    c.synth.seed = 4;
    c.synth.style = "fluorescence";
    c.synth.min_side = 64;
    c.synth.max_side = 80;
    c.synth.min_radius = 4.0;
    c.synth.max_radius = 7.0;
    EXPECT_EQ(synth::run_synth(c, world()), exit_codes::ok);
    c.pack.input = c.synth.output;
    c.pack.output = (work_dir() / "shards").string();
    c.pack.layout = "kaggle";
    c.pack.val_fraction = 0.3;
    c.pack.seed = 3;
    EXPECT_EQ(pack::run_pack(c, world()), exit_codes::ok);
    return stdfs::path(c.pack.output);
  }();
  return dir;
}

// Deterministic, tiny, 2 epochs; lr scaled with the ranks and a warm-up that spans the cuts
// below, so a resume must also land on the right step of the schedule.
Config tiny_config(const std::string& run) {
  Config c;
  c.data.shards = shards().string();
  c.data.crop = 64;
  c.data.samples_per_image = 2;
  c.data.workers = 1;
  c.data.prefetch = 2;
  c.train.output = (work_dir() / run).string();
  c.train.batch_size = 2;
  c.train.epochs = 2;
  c.train.threads = 1;
  c.train.seed = 7;
  c.train.deterministic = true;
  c.train.bn_momentum = 0.1;
  c.train.preview_count = 0;
  c.train.lr = 1e-3;
  c.train.lr_scale_with_ranks = true;
  c.train.warmup_steps = 4;
  c.train.keep_checkpoints = 20;
  c.log.progress_seconds = 1e9;
  return c;
}

long steps_per_epoch(const Config& c) {
  const auto data = train::open_train_data(c);
  const long samples = static_cast<long>(data.train.size()) * c.data.samples_per_image;
  const long per_rank = (samples + world().size() - 1) / world().size();  // the sampler pads
  return per_rank / c.train.batch_size;
}

stdfs::path checkpoint(const Config& c, long step) {
  return stdfs::path(c.train.output) / "checkpoints" / model::step_checkpoint_name(step);
}

model::UNet load_weights(const Config& c, long step) {
  auto model = model::make_model(c.model);
  model::load_checkpoint(checkpoint(c, step), *model, nullptr);
  return model;
}

// The largest absolute difference over parameters and buffers (0: bit-identical).
double max_difference(const Config& a, const Config& b, long step) {
  auto ma = load_weights(a, step), mb = load_weights(b, step);
  double worst = 0;
  auto pb = mb->named_parameters();
  for (auto& p : ma->named_parameters())
    worst = std::max(worst, (p.value() - pb[p.key()]).abs().max().item<double>());
  auto bb = mb->named_buffers();
  for (auto& p : ma->named_buffers())
    if (p.value().is_floating_point()) worst = std::max(worst, (p.value() - bb[p.key()]).abs().max().item<double>());
    else if (!torch::equal(p.value(), bb[p.key()])) worst = std::max(worst, 1.0);
  return worst;
}

// The learning rate the optimizer held when `file` was written (the one of its last step),
// read from the saved param group options (Optimizer::load does not restore options).
double saved_lr(const stdfs::path& file) {
  torch::serialize::InputArchive archive, optimizer, groups, group, options;
  archive.load_from(file.string());
  archive.read("optimizer", optimizer);
  optimizer.read("param_groups", groups);
  groups.read("param_groups/0", group);
  group.read("options", options);
  c10::IValue lr;
  options.read("lr", lr);
  return lr.toDouble();
}

// The uninterrupted 2-rank run, checkpointed after every step (shared by the tests below).
const Config& uninterrupted() {
  static const Config c = [] {
    Config full = tiny_config("full");
    full.train.checkpoint_every = 1;
    EXPECT_EQ(train::run_train(full, world()), exit_codes::ok);
    return full;
  }();
  return c;
}

// Removes the shared folder once both ranks are done with it.
class DistTrainer : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    world().barrier();
    if (world().is_root()) stdfs::remove_all(work_dir());
  }
};

}  // namespace

TEST_F(DistTrainer, ResumedMidEpochEndsWithTheWeightsOfAnUninterruptedRun) {
  ASSERT_EQ(world().size(), 2);
  const Config& full = uninterrupted();
  const long spe = steps_per_epoch(full);
  ASSERT_GE(spe, 3) << "the cuts below need 3 steps per epoch";
  const long total = 2 * spe;

  // 1. A stop signal on rank 1 only: both ranks stop after the first step, rank 0 checkpoints
  //    there (epoch 1, batch 1 of spe) and every rank returns the requeue code.
  Config cut = tiny_config("cut");
  StopSignal::install();
  if (world().rank() == 1) StopSignal::raise_for_test(SIGUSR1);
  EXPECT_EQ(train::run_train(cut, world()), exit_codes::requeue);
  StopSignal::reset();
  world().barrier();
  auto s1 = model::read_checkpoint_state(checkpoint(cut, 1));
  EXPECT_EQ(s1.step, 1);
  EXPECT_EQ(s1.epoch, 0);
  EXPECT_EQ(s1.batch_in_epoch, 1);

  // 2. Resumed, across the epoch boundary, to one batch into the second epoch (max_steps).
  cut.train.max_steps = spe + 1;
  ASSERT_EQ(train::run_train(cut, world()), exit_codes::ok);
  auto s2 = model::read_checkpoint_state(checkpoint(cut, spe + 1));
  EXPECT_EQ(s2.epoch, 1);
  EXPECT_EQ(s2.batch_in_epoch, 1);

  // The control: the same checkpoint with its sampler position dropped (batch 0 of epoch 2).
  Config control = tiny_config("control");
  if (world().is_root()) {
    auto model = model::make_model(control.model);
    torch::optim::Adam optimizer(model->trainable_parameters(), torch::optim::AdamOptions(control.train.lr));
    auto state = model::load_checkpoint(checkpoint(cut, spe + 1), *model, &optimizer);
    state.batch_in_epoch = 0;
    fs::create_directories(checkpoint(control, 0).parent_path());
    model::save_checkpoint(checkpoint(control, spe + 1), *model, &optimizer, state);
  }
  world().barrier();

  // 3. Resumed to the end.
  cut.train.max_steps = 0;
  ASSERT_EQ(train::run_train(cut, world()), exit_codes::ok);
  ASSERT_EQ(train::run_train(control, world()), exit_codes::ok);
  EXPECT_EQ(model::read_checkpoint_state(checkpoint(cut, total)).step, total);

  const double resumed = max_difference(full, cut, total);
  EXPECT_EQ(resumed, 0.0) << "resumed run differs from the uninterrupted one by up to " << resumed;
  const double ignored = max_difference(full, control, total);
  EXPECT_GT(ignored, 1e-6) << "dropping the sampler position changed nothing: the comparison cannot fail";
  if (world().is_root())
    std::printf("max |difference| at step %ld: resumed %.3g, resumed without the sampler position %.3g\n", total,
                resumed, ignored);
}

TEST_F(DistTrainer, LearningRateScalesWithRanksAfterWarmupAndNotByDefault) {
  const Config& full = uninterrupted();  // lr 1e-3, warm-up 4 steps, lr_scale_with_ranks
  const long total = 2 * steps_per_epoch(full);
  const double base = full.train.lr, ranks = world().size();
  for (long step = 1; step <= total; ++step) {
    const double expected = base * ranks * std::min(step, 4L) / 4.0;  // checkpoint `step` holds step index step-1
    EXPECT_NEAR(saved_lr(checkpoint(full, step)), expected, 1e-12 * expected) << "step " << step;
  }

  EXPECT_FALSE(TrainConfig{}.lr_scale_with_ranks);
  Config plain = tiny_config("plain");
  plain.train.lr_scale_with_ranks = TrainConfig{}.lr_scale_with_ranks;
  plain.train.warmup_steps = 0;
  plain.train.max_steps = 2;
  ASSERT_EQ(train::run_train(plain, world()), exit_codes::ok);
  EXPECT_DOUBLE_EQ(saved_lr(checkpoint(plain, 2)), base);
}

// Weights made NaN by an update (a NaN first moment in the resumed checkpoint; its loss is
// finite) stop both ranks before they are saved, and both name the same last good checkpoint:
// rank 0 writes the checkpoints and shares what it wrote (before: rank 0 wrote step 3 with NaN
// weights and named it when the next loss became NaN, rank 1 said "none written yet").
TEST_F(DistTrainer, BothRanksNameTheSameLastGoodCheckpoint) {
  Config c = tiny_config("nan");
  c.train.max_steps = 2;
  c.train.checkpoint_every = 1;
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  if (world().is_root()) {
    auto model = model::make_model(c.model);
    torch::optim::Adam optimizer(model->trainable_parameters(), torch::optim::AdamOptions(c.train.lr));
    const auto state = model::load_checkpoint(checkpoint(c, 2), *model, &optimizer);
    for (auto& entry : optimizer.state())
      static_cast<torch::optim::AdamParamState&>(*entry.second).exp_avg().fill_(std::nanf(""));
    model::save_checkpoint(checkpoint(c, 2), *model, &optimizer, state);
  }
  world().barrier();
  c.train.max_steps = 0;
  std::string message;
  try {
    train::run_train(c, world());
    ADD_FAILURE() << "a run from a NaN moment finished";
  } catch (const Error& e) {
    message = e.message();
  }
  const auto messages = world().gather_strings(message);
  if (world().is_root()) {
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0], messages[1]);
    EXPECT_NE(messages[0].find("last good checkpoint is kept: " + checkpoint(c, 2).string()), std::string::npos)
        << messages[0];
  }
  world().barrier();
  EXPECT_FALSE(stdfs::exists(checkpoint(c, 3)));
}
