// End-to-end training on generated data: the loss falls and the val object score beats the
// untrained model; an interrupted-then-resumed run ends with the weights of an uninterrupted
// one; bad inputs fail before training; TensorBoard gets per-step scalars and preview images
// (read by a Python parser: python3-opencv needed). Runs under mpiexec -n 1 (MPI main).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include "../model/checkpoint_damage.hpp"
#include "../segment/test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/data/targets.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/io/normalize.hpp"
#include "nucseg/io/shard.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/pack/pack.hpp"
#include "nucseg/train/checkpoint_dir.hpp"
#include "nucseg/train/setup.hpp"
#include "nucseg/train/trainer.hpp"
#include "nucseg/train/validation.hpp"

namespace stdfs = std::filesystem;
using namespace nucseg;

namespace {

const dist::World& world() {
  static dist::World w(nullptr, nullptr);  // MPI is already up (MPI test main): no re-init
  return w;
}

// Kaggle-layout images of well separated bright disks on a dark noisy background.
void write_dataset(const stdfs::path& root, int count) {
  cv::RNG rng(11);
  for (int i = 0; i < count; ++i) {
    std::string id = "img" + std::to_string(100 + i);
    cv::Size size(64 + 16 * (i % 3), 64);
    cv::Mat image(size, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 50);
    int k = 0;
    for (int y = 12; y < size.height - 8; y += 20)
      for (int x = 12; x < size.width - 8; x += 20) {
        if (rng.uniform(0, 4) == 0) continue;
        cv::Point c(x + rng.uniform(-3, 4), y + rng.uniform(-3, 4));
        int r = rng.uniform(4, 8);
        cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
        cv::circle(mask, c, r, cv::Scalar(255), cv::FILLED);
        image.setTo(cv::Scalar(200, 180, 220), mask);
        auto path = root / id / "masks" / ("m" + std::to_string(k++) + ".png");
        stdfs::create_directories(path.parent_path());
        ASSERT_TRUE(cv::imwrite(path.string(), mask));
      }
    auto path = root / id / "images" / (id + ".png");
    stdfs::create_directories(path.parent_path());
    ASSERT_TRUE(cv::imwrite(path.string(), image));
  }
}

// Every folder of this program lives under one folder of its own (the pid in the name: two
// checkouts may run their suites at once), removed when the program ends.
const stdfs::path& scratch() {
  struct Scratch {
    stdfs::path dir = stdfs::temp_directory_path() / ("nucseg_trainer_test_" + std::to_string(::getpid()));
    ~Scratch() {
      std::error_code ec;
      stdfs::remove_all(dir, ec);
    }
  };
  static const Scratch s;
  return s.dir;
}

// Packed once per program and name, shared by the tests that ask for the same shards.
stdfs::path make_shards(const std::string& name, double val_fraction) {
  auto base = scratch() / ("shards_" + name);
  if (stdfs::exists(base / "shards" / "index.h5")) return base / "shards";
  stdfs::remove_all(base);
  write_dataset(base / "raw", 20);
  Config c;
  c.pack.input = (base / "raw").string();
  c.pack.output = (base / "shards").string();
  c.pack.layout = "kaggle";
  c.pack.val_fraction = val_fraction;
  c.pack.seed = 3;
  EXPECT_EQ(pack::run_pack(c, world()), 0);
  return base / "shards";
}

Config tiny_config(const stdfs::path& shards, const std::string& run) {
  Config c;
  c.data.shards = shards.string();
  c.data.crop = 64;
  c.data.workers = 2;
  c.data.prefetch = 2;
  c.data.scale_jitter = 0.1;
  c.train.output = (scratch() / ("run_" + run)).string();
  c.train.batch_size = 4;
  c.train.epochs = 6;
  c.train.threads = 1;
  c.train.seed = 5;
  c.train.deterministic = true;
  c.train.bn_momentum = 0.1;
  c.train.preview_count = 2;
  c.train.keep_checkpoints = 2;
  c.log.progress_seconds = 1e9;
  stdfs::remove_all(c.train.output);
  return c;
}

double untrained_score(const Config& c) {
  torch::manual_seed(static_cast<uint64_t>(c.train.seed));
  auto model = model::make_model(c.model);
  auto data = train::open_train_data(c);
  train::ValidationOptions o;
  o.segment = nucseg::segment::params_from_config(c.segment);
  return train::validate(model, data.dataset, data.val, o, world()).object_score;
}

std::vector<std::vector<double>> csv_rows(const stdfs::path& file) {
  std::istringstream in(fs::read_file(file));
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

model::UNet load_weights(const Config& c, const stdfs::path& file) {
  auto model = model::make_model(c.model);
  model::load_checkpoint(file, *model, nullptr);
  return model;
}

// Rewrites `file` with a NaN first moment for every parameter: the checkpoint stays intact (its
// hashes match what it holds), but its next update makes the weights NaN while that step's loss
// is still finite.
void poison_next_update(const Config& c, const stdfs::path& file) {
  auto model = model::make_model(c.model);
  torch::optim::Adam optimizer(model->trainable_parameters(), torch::optim::AdamOptions(c.train.lr));
  const auto state = model::load_checkpoint(file, *model, &optimizer);
  for (auto& entry : optimizer.state())
    static_cast<torch::optim::AdamParamState&>(*entry.second).exp_avg().fill_(std::numeric_limits<float>::quiet_NaN());
  model::save_checkpoint(file, *model, &optimizer, state);
}

// The event file read by tests/train/tensorboard_events.py (an independent Python parser):
// "step/loss" and "step/lr" at every step, each epoch's mean step loss equal to
// metrics.csv's train loss, and per epoch the preview picture as the image "val/preview".
void check_events(const stdfs::path& events, const stdfs::path& previews, const std::vector<std::vector<double>>& rows) {
  std::string command = nucseg::test::python3() + " " + nucseg::test::source_dir() + "/tests/train/tensorboard_events.py " +
                        events.string();
  for (size_t e = 1; e <= rows.size(); ++e) {
    char name[32];
    std::snprintf(name, sizeof name, "epoch-%03zu.png", e);
    command += " " + (previews / name).string();
  }
  std::istringstream in(nucseg::test::run_command(command));
  std::map<std::string, std::vector<std::pair<long, double>>> scalars;
  std::vector<std::string> images;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) f.push_back(cell);
    if (f.at(0) == "scalar") scalars[f.at(1)].emplace_back(std::stol(f.at(2)), std::stod(f.at(3)));
    else images.push_back(f.at(1) + " " + f.at(2) + " " + f.at(7));
  }
  // metrics.csv columns: epoch, step (at the epoch's end), ..., train_loss (3).
  const size_t steps = static_cast<size_t>(rows.back()[1]);
  const auto& loss = scalars["step/loss"];
  ASSERT_EQ(loss.size(), steps);
  ASSERT_EQ(scalars["step/lr"].size(), steps);
  for (size_t i = 0; i < loss.size(); ++i) EXPECT_EQ(loss[i].first, static_cast<long>(i) + 1);
  std::vector<std::string> expected_images;
  size_t first = 0;
  for (const auto& row : rows) {
    const auto last = static_cast<size_t>(row[1]);
    double sum = 0;
    for (size_t i = first; i < last; ++i) sum += loss[i].second;
    EXPECT_NEAR(sum / static_cast<double>(last - first), row[3], 1e-5 * row[3]) << "epoch " << row[0];  // float32 events
    expected_images.push_back("val/preview " + std::to_string(last) + " 1");
    first = last;
  }
  EXPECT_EQ(images, expected_images);
}

}  // namespace

TEST(Trainer, TinyRunLearnsAndWritesTheRunDirectory) {
  auto c = tiny_config(make_shards("ok", 0.25), "learn");
  // 24 steps of 4 crops left the untrained-looking all-background prediction on val; four
  // crops of each image per epoch give 60 steps, enough to find the disks.
  c.data.samples_per_image = 4;
  c.train.epochs = 4;
  c.train.threads = 2;
  const double before = untrained_score(c);
  ASSERT_EQ(train::run_train(c, world(), "[train]\nseed = 5\n"), exit_codes::ok);
  stdfs::path out = c.train.output;
  auto rows = csv_rows(out / "metrics.csv");
  ASSERT_EQ(rows.size(), 4u);
  // columns: epoch, step, images_per_s, train_loss, val_loss, pixel_accuracy, 3 IoUs, object_score, lr, wall
  EXPECT_LT(rows.back()[3], 0.7 * rows.front()[3]) << "train loss did not fall";
  const double after = rows.back()[9];
  std::printf("val object score: untrained %.4f, trained %.4f; pixel accuracy %.4f\n", before, after, rows.back()[5]);
  // Measured: untrained 0.00, trained 0.87 with the old light augmentation, 0.78 with every
  // augmentation at its default (issue 12); 0.3 leaves a wide margin.
  EXPECT_GT(after, before + 0.3);
  EXPECT_TRUE(stdfs::exists(out / "config.toml"));
  EXPECT_TRUE(stdfs::exists(out / "previews" / "epoch-001.png"));
  EXPECT_TRUE(stdfs::exists(out / "previews" / "epoch-004.png"));
  EXPECT_TRUE(stdfs::exists(out / "checkpoints" / "best.pt"));
  train::CheckpointDir ckpts(out / "checkpoints", 2);
  EXPECT_EQ(ckpts.list().size(), 2u);
  std::vector<stdfs::path> event_files;
  for (auto& e : stdfs::directory_iterator(out))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) event_files.push_back(e.path());
  ASSERT_EQ(event_files.size(), 1u);
  check_events(event_files[0], out / "previews", rows);
}

// train.precision = bfloat16 (the decoder's products in bfloat16) learns as float32 does, by
// the same margin as the test above; its first epoch's loss differs from a float32 run's with
// the same seed (deterministic): the setting reached the model.
TEST(Trainer, Bfloat16ProductsLearnToo) {
  auto c = tiny_config(make_shards("ok", 0.25), "bf16");
  c.data.samples_per_image = 4;
  c.train.epochs = 4;
  c.train.threads = 2;
  c.train.precision = "bfloat16";
  c.train.device = "cpu";  // bfloat16 training is CPU-only; the trainer refuses it on a GPU
  const double before = untrained_score(c);
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  auto rows = csv_rows(stdfs::path(c.train.output) / "metrics.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_LT(rows.back()[3], 0.7 * rows.front()[3]) << "train loss did not fall";
  const double after = rows.back()[9];
  std::printf("bfloat16 products: val object score untrained %.4f, trained %.4f\n", before, after);
  EXPECT_GT(after, before + 0.3);

  auto f32 = tiny_config(make_shards("ok", 0.25), "bf16_ref");
  f32.data.samples_per_image = 4;
  f32.train.epochs = 1;
  f32.train.threads = 2;
  f32.train.device = "cpu";
  ASSERT_EQ(train::run_train(f32, world()), exit_codes::ok);
  auto ref = csv_rows(stdfs::path(f32.train.output) / "metrics.csv");
  ASSERT_EQ(ref.size(), 1u);
  EXPECT_NE(rows.front()[3], ref.front()[3]) << "the bfloat16 run's first epoch is float32's";
  EXPECT_NEAR(rows.front()[3], ref.front()[3], 0.05 * ref.front()[3]);
}

// A tiny run with an extra head or stage (`configure` switches it on): 4 epochs, the train loss falls
// and the val object score ends 0.3 above the untrained model's. Returns the logits best.pt
// gives on the first val image, with that image's record.
struct HeadRun {
  torch::Tensor logits;  // 1 x outputs x H x W
  io::ShardRecord record;
};
template <class Configure>
HeadRun train_with_head(Config& c, const char* what, Configure configure) {
  c.data.samples_per_image = 4;
  c.train.epochs = 4;
  c.train.threads = 2;
  configure(c);
  const double before = untrained_score(c);
  EXPECT_EQ(train::run_train(c, world()), exit_codes::ok);
  const stdfs::path out = c.train.output;
  auto rows = csv_rows(out / "metrics.csv");
  EXPECT_EQ(rows.size(), 4u);
  if (rows.size() != 4u) return {};
  EXPECT_LT(rows.back()[3], 0.7 * rows.front()[3]) << "train loss did not fall";
  std::printf("%s: val object score untrained %.4f, trained %.4f\n", what, before, rows.back()[9]);
  EXPECT_GT(rows.back()[9], before + 0.3);
  auto net = load_weights(c, out / "checkpoints" / "best.pt");
  auto data = train::open_train_data(c);
  HeadRun run;
  run.record = data.dataset.read(data.val.at(0));
  const cv::Mat image = io::normalize_image(run.record.image, io::normalize_spec(c.data));
  run.logits = train::predict_logits(net, image, torch::kCPU);
  return run;
}

// Resuming `c`'s run after `switch_off` removed its head is refused, naming `key`.
template <class SwitchOff>
void expect_resume_refused(Config c, const std::string& key, SwitchOff switch_off) {
  switch_off(c);
  c.train.epochs = 5;
  try {
    train::run_train(c, world());
    ADD_FAILURE() << "resumed a checkpoint without its " << key;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

// model.distance_head: the extra output learns each disk's distance map (high at the centres,
// low on the background) beside the classes, validation with segment.seeds = predicted seeds
// instances from it and still beats the untrained model by the margin above; the checkpoint
// says it has the head, and resuming it with the head switched off is refused.
TEST(Trainer, DistanceHeadLearnsTheCentres) {
  auto c = tiny_config(make_shards("ok", 0.25), "distance");
  auto run = train_with_head(c, "distance head", [](Config& k) {
    k.model.distance_head = true;
    k.segment.seeds = "predicted";
  });
  ASSERT_TRUE(model::read_checkpoint_state(stdfs::path(c.train.output) / "checkpoints" / "best.pt").distance_head);
  ASSERT_EQ(run.logits.size(1), 4);
  auto map = torch::sigmoid(run.logits[0][3]);
  const cv::Mat& classes = run.record.classes;
  auto truth = torch::from_blob(classes.data, {classes.rows, classes.cols}, torch::kUInt8);
  const double inside = map.masked_select(truth == 1).mean().item<double>();
  const double outside = map.masked_select(truth == 0).mean().item<double>();
  std::printf("distance output: mean %.3f on interior pixels, %.3f on the background\n", inside, outside);
  EXPECT_GT(inside, outside + 0.3);
  expect_resume_refused(c, "model.distance_head", [](Config& k) { k.model.distance_head = false; });
}

// model.flow_head: the two extra outputs learn to point at each disk's centre (the flow
// targets' direction on most nucleus pixels), validation with segment.seeds = flows builds
// instances by following them and beats the untrained model by the margin above; the
// checkpoint says it has the head, and resuming it with the head switched off is refused.
TEST(Trainer, FlowHeadLearnsToPointAtTheCentres) {
  auto c = tiny_config(make_shards("ok", 0.25), "flows");
  auto run = train_with_head(c, "flow head", [](Config& k) {
    k.model.flow_head = true;
    k.segment.seeds = "flows";
  });
  ASSERT_TRUE(model::read_checkpoint_state(stdfs::path(c.train.output) / "checkpoints" / "best.pt").flow_head);
  ASSERT_EQ(run.logits.size(1), 5);
  const cv::Mat target = data::flow_targets(run.record.labels);
  auto predicted = torch::tanh(run.logits[0].narrow(0, 3, 2) * 0.5).contiguous();
  const float* dy = predicted[0].data_ptr<float>();
  const float* dx = predicted[1].data_ptr<float>();
  long agree = 0, nucleus = 0;
  for (int y = 0; y < target.rows; ++y)
    for (int x = 0; x < target.cols; ++x) {
      const cv::Vec2f t = target.at<cv::Vec2f>(y, x);
      if (t[0] == 0.0f && t[1] == 0.0f) continue;
      const size_t i = static_cast<size_t>(y) * target.cols + x;
      ++nucleus;
      if (t[0] * dy[i] + t[1] * dx[i] > 0.0f) ++agree;  // within 90 degrees of the true direction
    }
  ASSERT_GT(nucleus, 0);
  const double share = static_cast<double>(agree) / static_cast<double>(nucleus);
  std::printf("flow output: within 90 degrees of the centre on %.3f of nucleus pixels\n", share);
  EXPECT_GT(share, 0.75);
  expect_resume_refused(c, "model.flow_head", [](Config& k) {
    k.model.flow_head = false;
    k.segment.seeds = "distance";
  });
}

// model.full_res: the network with a stage at the input's resolution trains as well (the margin
// over the untrained model above), the checkpoint records its width, and resuming it with
// another width, or another model.decoder_width, is refused.
TEST(Trainer, FullResolutionStageTrains) {
  auto c = tiny_config(make_shards("ok", 0.25), "full_res");
  auto run = train_with_head(c, "full_res 8", [](Config& k) { k.model.full_res = 8; });
  EXPECT_EQ(model::read_checkpoint_state(stdfs::path(c.train.output) / "checkpoints" / "best.pt").full_res, 8);
  ASSERT_EQ(run.logits.size(1), 3);
  expect_resume_refused(c, "model.full_res", [](Config& k) { k.model.full_res = 16; });
  expect_resume_refused(c, "model.decoder_width", [](Config& k) { k.model.decoder_width = 0.5; });
}

TEST(Trainer, InterruptedThenResumedRunEndsWithTheSameWeights) {
  auto shards = make_shards("ok", 0.25);
  auto full = tiny_config(shards, "full");
  full.train.max_steps = 7;  // crosses epoch boundaries (3 or 4 steps per epoch)
  ASSERT_EQ(train::run_train(full, world()), exit_codes::ok);

  auto cut = tiny_config(shards, "cut");
  cut.train.max_steps = 2;  // stop mid-epoch, checkpoint there
  ASSERT_EQ(train::run_train(cut, world()), exit_codes::ok);
  StopSignal::install();
  StopSignal::raise_for_test(SIGUSR1);  // preempted: one more step, checkpoint, exit 75
  cut.train.max_steps = 7;
  ASSERT_EQ(train::run_train(cut, world()), exit_codes::requeue);
  StopSignal::reset();
  EXPECT_TRUE(stdfs::exists(stdfs::path(cut.train.output) / "checkpoints" / model::step_checkpoint_name(3)));
  ASSERT_EQ(train::run_train(cut, world()), exit_codes::ok);

  auto name = model::step_checkpoint_name(7);
  auto a = load_weights(full, stdfs::path(full.train.output) / "checkpoints" / name);
  auto b = load_weights(cut, stdfs::path(cut.train.output) / "checkpoints" / name);
  auto pb = b->named_parameters();
  for (auto& p : a->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  auto bb = b->named_buffers();
  for (auto& p : a->named_buffers()) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
  // metrics.csv of the resumed run lists each epoch once, like the uninterrupted run's.
  auto rows = csv_rows(stdfs::path(cut.train.output) / "metrics.csv");
  auto full_rows = csv_rows(stdfs::path(full.train.output) / "metrics.csv");
  ASSERT_EQ(rows.size(), full_rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], static_cast<double>(i + 1));
    EXPECT_EQ(rows[i][1], full_rows[i][1]);  // same step
    EXPECT_DOUBLE_EQ(rows[i][9], full_rows[i][9]);  // same object score
    // The train loss of the interrupted epoch averages all of its steps, not only those after the restart.
    EXPECT_DOUBLE_EQ(rows[i][3], full_rows[i][3]) << "epoch " << i + 1;
  }
  EXPECT_EQ(rows.back()[1], 7);

  // Another batch size mid-epoch would repeat and skip samples: refused, naming the key.
  auto other = cut;
  other.train.max_steps = 2;
  other.train.output = (stdfs::path(cut.train.output).parent_path() / "nucseg_trainer_run_layout").string();
  stdfs::remove_all(other.train.output);
  ASSERT_EQ(train::run_train(other, world()), exit_codes::ok);  // checkpoint at step 2, mid-epoch
  other.train.max_steps = 7;
  other.train.batch_size = 2;
  try {
    train::run_train(other, world());
    ADD_FAILURE() << "a mid-epoch resume with another batch size was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.context().key, "train.batch_size");
    EXPECT_NE(std::string(e.what()).find("1 rank(s) x batch 4, this run has 1 x 2"), std::string::npos) << e.what();
  }

  // A stop signal on the final step: the run still validates and ends (exit 0) like the full one.
  auto last = tiny_config(shards, "last");
  last.train.max_steps = 6;
  ASSERT_EQ(train::run_train(last, world()), exit_codes::ok);
  StopSignal::install();
  StopSignal::raise_for_test(SIGUSR1);
  last.train.max_steps = 7;
  EXPECT_EQ(train::run_train(last, world()), exit_codes::ok);
  StopSignal::reset();
  auto last_rows = csv_rows(stdfs::path(last.train.output) / "metrics.csv");
  ASSERT_EQ(last_rows.size(), full_rows.size());
  EXPECT_EQ(last_rows.back()[1], 7);
  EXPECT_DOUBLE_EQ(last_rows.back()[9], full_rows.back()[9]);
}

TEST(Trainer, BadInputsFailBeforeTraining) {
  auto ok = make_shards("ok", 0.25);
  auto expect_error = [](const Config& c, ErrorKind kind, const std::string& needle) {
    try {
      train::run_train(c, world());
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(stdfs::exists(stdfs::path(c.train.output) / "checkpoints")) << needle;
  };
  auto c = tiny_config(ok, "bad");
  c.data.shards = "/nonexistent/shards";
  expect_error(c, ErrorKind::config, "data.shards");
  c = tiny_config(ok, "bad");
  c.data.crop = 256;
  expect_error(c, ErrorKind::config, "data.crop");
  c = tiny_config(ok, "bad");
  c.train.batch_size = 64;
  expect_error(c, ErrorKind::config, "train.batch_size");
  c = tiny_config(ok, "bad");
  c.train.class_weights = {1.0, 2.0};
  expect_error(c, ErrorKind::config, "train.class_weights");
  c = tiny_config(ok, "bad");
  c.segment.seeds = "predicted";  // needs model.distance_head
  expect_error(c, ErrorKind::config, "segment.seeds");
  c = tiny_config(ok, "bad");
  c.data.channels.kind = ChannelSpec::Kind::gray;  // the shards were packed with "rgb"
  expect_error(c, ErrorKind::config, "data.channels");
  c = tiny_config(make_shards("noval", 0.0), "bad");
  expect_error(c, ErrorKind::data, "val split");
  // Another run holds the run directory (here: this process, so it is alive).
  c = tiny_config(ok, "busy");
  {
    FolderLock other(c.train.output, "nucseg_train", "train.output");
    expect_error(c, ErrorKind::config, "is in use by nucseg_train");
  }
}

// train.time_limit: a run of 1000 epochs stops at a 4-second budget, exits 0, and leaves a
// checkpoint, best.pt and a validated last epoch; the cosine rate has decayed near 0, and a
// rerun finds the budget spent and trains no further.
TEST(Trainer, TimeLimitStopsEarlyWithCheckpointAndBest) {
  auto c = tiny_config(make_shards("ok", 0.25), "time");
  c.train.epochs = 1000;
  c.train.lr_schedule = "cosine";
  c.train.time_limit = "4s";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 4.0 + 10.0) << "did not stop near the budget";  // set-up and the last validation beyond it
  stdfs::path out = c.train.output;
  ASSERT_TRUE(stdfs::exists(out / "checkpoints" / "best.pt"));
  train::CheckpointDir ckpts(out / "checkpoints", 2);
  auto latest = ckpts.latest();
  ASSERT_TRUE(latest.has_value());
  auto state = model::read_checkpoint_state(*latest);
  EXPECT_GT(state.step, 0);
  EXPECT_LT(state.step, 100) << "ran far past a 4-second budget";
  EXPECT_DOUBLE_EQ(state.train_seconds, 4.0);  // spent
  auto rows = csv_rows(out / "metrics.csv");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back()[1], state.step);  // the final validation is of the last step
  // The last step's rate comes from the budget share used when the step before it ended, about
  // 1 - 2 x (step + validation time) / budget: near 0 on an idle machine, but 0.25..0.32 seen
  // with steps slowed by other work. A cosine that ignored the budget would still be above 0.99
  // (at most a dozen of 1,000+ planned steps), so half the rate separates the two.
  EXPECT_LT(rows.back()[10], 0.5 * c.train.lr) << "the cosine did not follow the budget";
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  EXPECT_EQ(model::read_checkpoint_state(*ckpts.latest()).step, state.step);
}

// An update that leaves NaN weights while its step's loss is finite stops the run before they
// are saved: no checkpoint of them, best.pt untouched, and the error names the last good
// checkpoint (before: step 3 was written with NaN weights and named "the last good checkpoint"
// when the next loss became NaN). A NaN loss (lr 1e30) stops the run before its step is
// applied, naming the last checkpoint written; every checkpoint left loads.
TEST(Trainer, NonFiniteLossOrWeightsStopTheRunAndKeepTheLastGoodCheckpoint) {
  auto c = tiny_config(make_shards("ok", 0.25), "nan");
  c.train.max_steps = 2;
  c.train.checkpoint_every = 1;
  c.train.keep_checkpoints = 10;
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  const stdfs::path dir = stdfs::path(c.train.output) / "checkpoints";
  const auto second = dir / model::step_checkpoint_name(2);
  const std::string best = fs::read_file(dir / "best.pt"), intact = fs::read_file(second);
  auto expect_stop = [&c](const std::string& why, const std::string& last_good) {
    try {
      train::run_train(c, world());
      ADD_FAILURE() << "the run finished";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::runtime) << what;
      EXPECT_NE(what.find(why), std::string::npos) << what;
      EXPECT_NE(what.find("The last good checkpoint is kept: " + last_good), std::string::npos) << what;
      EXPECT_NE(what.find("train.lr"), std::string::npos) << what;
    }
  };
  poison_next_update(c, second);
  c.train.max_steps = 6;
  expect_stop("the model's weights became NaN or infinite", second.string());
  EXPECT_FALSE(stdfs::exists(dir / model::step_checkpoint_name(3)));
  EXPECT_EQ(fs::read_file(dir / "best.pt"), best);

  fs::write_file_atomic(second, intact);
  c.train.lr = 1e30;  // huge but finite weights after step 3; a later loss is not finite
  try {
    train::run_train(c, world());
    ADD_FAILURE() << "a run with lr 1e30 finished";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the training loss became"), std::string::npos) << what;
    EXPECT_NE(what.find("The last good checkpoint is kept: " + train::CheckpointDir(dir, 10).list().back().string()),
              std::string::npos) << what;
  }
  for (const auto& file : train::CheckpointDir(dir, 10).list())
    EXPECT_NO_THROW(load_weights(c, file)) << file << " is not a good checkpoint";
}

// Resume skips a newest checkpoint whose weights changed after it was written (hash mismatch;
// before: exit 1 although an older one was intact) like a cut-short one. When not one is usable
// the run stops naming them (before: it started over at step 0 with exit 0, overwriting
// metrics.csv and best.pt, and the rotation deleted the damaged files).
TEST(Trainer, DamagedCheckpointsAreSkippedAndNoneUsableIsAnError) {
  auto c = tiny_config(make_shards("ok", 0.25), "damaged");
  c.train.max_steps = 3;
  c.train.checkpoint_every = 1;
  c.train.keep_checkpoints = 10;
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);
  const stdfs::path out = c.train.output;
  const auto newest = out / "checkpoints" / model::step_checkpoint_name(3);
  ASSERT_TRUE(nucseg::testing::overwrite_in_file(newest, load_weights(c, newest)->parameters().front(), -1.7e36f));
  c.train.max_steps = 4;
  ASSERT_EQ(train::run_train(c, world()), exit_codes::ok);  // from step 2
  EXPECT_NO_THROW(load_weights(c, newest)) << "step 3 was not redone";
  ASSERT_TRUE(stdfs::exists(out / "checkpoints" / model::step_checkpoint_name(4)));

  train::CheckpointDir ckpts(out / "checkpoints", 10);
  for (const auto& file : ckpts.list()) stdfs::resize_file(file, 1000);
  const std::string metrics = fs::read_file(out / "metrics.csv"), best = fs::read_file(out / "checkpoints" / "best.pt");
  c.train.max_steps = 6;
  try {
    train::run_train(c, world());
    ADD_FAILURE() << "a run directory of unusable checkpoints started over";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::data) << what;
    EXPECT_NE(what.find(model::step_checkpoint_name(4)), std::string::npos) << what;
    EXPECT_NE(what.find("move the checkpoints out of"), std::string::npos) << what;
  }
  EXPECT_EQ(ckpts.list().size(), 4u);
  EXPECT_EQ(fs::read_file(out / "metrics.csv"), metrics);
  EXPECT_EQ(fs::read_file(out / "checkpoints" / "best.pt"), best);
}
