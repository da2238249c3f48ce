// The inference loop on 2 ranks with fake stages (an OpenCV reader, a pointwise "network", a
// threshold + connected-components segmenter): failures, resume, overwrite, stop signals and
// a nucleus straddling a tile seam.
#include "nucseg/infer/driver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/io/hdf5.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;

int g_argc = 0;
char** g_argv = nullptr;

Stages fake_stages() {
  Stages s;
  s.read = [](const std::string& path) {
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) nucseg::throw_data(path, "cannot decode image");
    LoadedImage img;
    cv::cvtColor(bgr, img.rgb, cv::COLOR_BGR2RGB);
    img.ranges.assign(3, nucseg::io::ChannelRange{0.0, 255.0});
    return img;
  };
  s.model = [](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    size_t plane = static_cast<size_t>(h) * w;
    for (int i = 0; i < n; ++i)
      for (size_t p = 0; p < plane; ++p) {
        float red = batch[static_cast<size_t>(i) * 3 * plane + p];
        logits[(i * 3 + 0) * plane + p] = 0.0f;
        logits[(i * 3 + 1) * plane + p] = 20.0f * (red - 0.5f);
        logits[(i * 3 + 2) * plane + p] = -10.0f;
      }
  };
  s.segment = [](const nucseg::segment::ClassEvidence& evidence) {
    cv::Mat labels;
    cv::connectedComponents(evidence.interior, labels, 8, CV_32S);  // P(interior) > 0.5
    return labels;
  };
  s.measure = [](const std::string& id, const cv::Mat& labels, const LoadedImage&) {
    double max_label = 0;
    cv::minMaxLoc(labels, nullptr, &max_label);
    nucseg::ObjectTable t;
    for (int l = 1; l <= static_cast<int>(max_label); ++l) {
      t.image_id.push_back(id);
      t.label.push_back(l);
      for_each_object_column(t, [&](const char* name, auto& column) {
        if (std::string(name) != "label") column.push_back(0);
      });
      t.area.back() = cv::countNonZero(labels == l);
    }
    return t;
  };
  return s;
}

void write_disks(const stdfs::path& path, cv::Size size, const std::vector<cv::Point>& centres, int radius) {
  cv::Mat img(size, CV_8UC3, cv::Scalar(20, 20, 20));
  for (auto c : centres) cv::circle(img, c, radius, cv::Scalar(200, 200, 200), cv::FILLED);
  stdfs::create_directories(path.parent_path());
  ASSERT_TRUE(cv::imwrite(path.string(), img));
}

long sum(const nucseg::dist::World& world, long v) { return world.sum(v); }

// Tiles of 64 (overlap 16, batches of 2): the small test images span several tiles and batches.
nucseg::InferConfig small_tiles_config(const stdfs::path& out) {
  nucseg::InferConfig config;
  config.output = out.string();
  config.tile = 64;
  config.overlap = 16;
  config.batch = 2;
  config.save_probabilities = true;
  return config;
}

TEST(Driver, FailuresResumeOverwriteStopAndSeams) {
  nucseg::dist::World world(&g_argc, &g_argv);
  ASSERT_EQ(world.size(), 2);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-driver-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  stdfs::path in = stdfs::path(root) / "in", out = stdfs::path(root) / "out";
  if (world.is_root()) {
    stdfs::remove_all(root);
    // Tiles of 64 with overlap 16 start at x = 0, 48, 86: the disk at x = 56 straddles a seam.
    write_disks(in / "seam.png", {150, 150}, {{56, 75}, {120, 30}}, 10);
    write_disks(in / "two" / "b.png", {80, 100}, {{15, 15}, {60, 20}, {40, 80}}, 6);
    write_disks(in / "tiny.png", {20, 20}, {{10, 10}}, 5);
    nucseg::testing::touch(in / "bad.png", "\x89PNG\r\n\x1a\n not really a png");
  }
  world.barrier();
  auto inputs = discover_inputs(in.string());
  ASSERT_EQ(inputs.items.size(), 4u);
  nucseg::InferConfig config = small_tiles_config(out);
  Provenance prov;
  prov.input_root = inputs.root;
  auto stages = fake_stages();

  auto first = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(first.exit_code, nucseg::exit_codes::partial);
  EXPECT_EQ(first.failed_total, 1);
  EXPECT_EQ(sum(world, first.processed), 3);
  if (world.is_root()) {
    ASSERT_TRUE(first.assembled);
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.read_strings("failures/path"), std::vector<std::string>{(in / "bad.png").string()});
    EXPECT_EQ(seg.read_strings("index/image_id"), (std::vector<std::string>{"seam", "tiny", "two_b"}));
    EXPECT_EQ(seg.read<int64_t>("index/n_objects"), (std::vector<int64_t>{2, 1, 3}));
    // The straddling disk is one object holding every disk pixel.
    auto labels = seg.read<uint16_t>("images/seam/labels");
    cv::Mat lab(150, 150, CV_16U, labels.data());
    cv::Mat disk(150, 150, CV_8U, cv::Scalar(0));
    cv::circle(disk, {56, 75}, 10, cv::Scalar(255), cv::FILLED);
    int id = lab.at<uint16_t>(75, 56);
    EXPECT_GT(id, 0);
    EXPECT_EQ(cv::countNonZero(lab == id), cv::countNonZero(disk));
    EXPECT_EQ(cv::countNonZero((lab == id) != disk), 0);
  }

  auto resumed = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(sum(world, resumed.processed), 0);
  EXPECT_EQ(sum(world, resumed.skipped), 3);
  EXPECT_EQ(resumed.failed_total, 1);  // the bad image is retried, and fails again

  // 1 of 4 failed: within a tolerance of 30% the run counts as done (failure still recorded).
  config.max_failed_fraction = 0.3;
  auto tolerated = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(tolerated.exit_code, nucseg::exit_codes::ok);
  EXPECT_EQ(tolerated.failed_total, 1);
  if (world.is_root()) {
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.read_strings("failures/path").size(), 1u);
  }
  config.max_failed_fraction = 0.2;  // 25% > 20%
  EXPECT_EQ(run_inference(config, world, inputs, stages, prov, 0.0).exit_code, nucseg::exit_codes::partial);
  config.max_failed_fraction = 0.0;

  if (world.is_root()) stdfs::remove(out / "images" / "seam.h5");
  world.barrier();
  auto partial = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(sum(world, partial.processed), 1);

  config.overwrite = true;
  auto redo = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(sum(world, redo.processed), 3);

  // A stop signal on one rank: that rank takes nothing more, the job exits 75 without
  // rebuilding segmentation.h5.
  if (world.is_root()) stdfs::remove(out / "segmentation.h5");
  nucseg::StopSignal::install();
  if (world.rank() == 1) nucseg::StopSignal::raise_for_test(SIGUSR1);
  world.barrier();
  auto stopped = run_inference(config, world, inputs, stages, prov, 0.0);
  EXPECT_EQ(stopped.exit_code, nucseg::exit_codes::requeue);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.stop_signal, SIGUSR1);  // rank 1's, on both ranks
  if (world.rank() == 1) {
    EXPECT_EQ(stopped.processed + stopped.failed, 0);
  } else {
    EXPECT_FALSE(stdfs::exists(out / "segmentation.h5"));
  }
  nucseg::StopSignal::reset();

  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

// Ten small images (40..58 x 50 px: one tile batch each, so never shared between ranks).
void write_ten(const stdfs::path& in) {
  for (int i = 0; i < 10; ++i) write_disks(in / ("img" + std::to_string(i) + ".png"), {40 + 2 * i, 50}, {{20, 25}}, 8);
}

// SIGUSR1 on rank 1 alone, as it reads its first image (a scheduler or a user's kill of one
// process): rank 1 finishes that image, and rank 0 (300 ms an image, started only once rank 1
// was signalled) finishes the one in hand, two at most (it may take a second just before rank 1
// records the stop), instead of all 9 left. Both ranks report rank 1's signal and exit 75; the
// rerun does only the images left.
TEST(Driver, StopOnOneRankStopsEveryRankWithinAboutOneImage) {
  nucseg::dist::World world(&g_argc, &g_argv);
  ASSERT_EQ(world.size(), 2);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-stop1-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path in = stdfs::path(root) / "in", out = stdfs::path(root) / "out";
  const stdfs::path mark = stdfs::path(root) / "signalled";
  if (world.is_root()) {
    stdfs::remove_all(root);
    write_ten(in);
  }
  world.barrier();
  const auto inputs = discover_inputs(in.string());
  const auto config = small_tiles_config(out);
  const Stages plain = fake_stages();
  Stages stages = plain;
  const int me = world.rank();
  stages.read = [read = plain.read, me, mark](const std::string& path) {
    if (me == 1 && !stdfs::exists(mark)) {
      nucseg::StopSignal::raise_for_test(SIGUSR1);
      nucseg::testing::touch(mark);
    } else if (me == 0) {
      for (int i = 0; i < 2000 && !stdfs::exists(mark); ++i)  // at most 20 s
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return read(path);
  };
  nucseg::StopSignal::install();
  auto stopped = run_inference(config, world, inputs, stages, {}, 0.0);
  nucseg::StopSignal::reset();
  EXPECT_EQ(stopped.exit_code, nucseg::exit_codes::requeue);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.stop_signal, SIGUSR1);
  if (me == 1) {
    EXPECT_EQ(stopped.processed, 1);
  } else {
    EXPECT_LE(stopped.processed, 2) << "rank 0 went on after rank 1's stop";
    EXPECT_FALSE(stdfs::exists(out / "segmentation.h5"));
  }
  const long done = sum(world, stopped.processed);

  world.barrier();
  auto resumed = run_inference(config, world, inputs, plain, {}, 0.0);
  EXPECT_EQ(resumed.exit_code, nucseg::exit_codes::ok);
  EXPECT_EQ(resumed.stop_signal, 0);
  EXPECT_EQ(sum(world, resumed.skipped), done);
  EXPECT_EQ(sum(world, resumed.processed), 10 - done);
  if (world.is_root()) {
    EXPECT_TRUE(resumed.assembled);
  }
  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

// SIGTERM on the rank that reads the last image handed out: nothing is left undone when the
// stop takes effect, so the run ends as usual (segmentation.h5 of every image, exit 0) and
// reports the signal.
TEST(Driver, StopOnceEveryImageIsTakenIsANormalEnd) {
  nucseg::dist::World world(&g_argc, &g_argv);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-stop2-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path in = stdfs::path(root) / "in", out = stdfs::path(root) / "out";
  if (world.is_root()) {
    stdfs::remove_all(root);
    write_ten(in);
  }
  world.barrier();
  const auto inputs = discover_inputs(in.string());
  // The driver hands out the largest file first, ties in input order: the last one handed out
  // is the smallest, the later of equals.
  size_t last = 0;
  for (size_t i = 1; i < inputs.items.size(); ++i)
    if (inputs.items[i].bytes <= inputs.items[last].bytes) last = i;
  Stages stages = fake_stages();
  stages.read = [read = stages.read, last_path = inputs.items[last].path](const std::string& path) {
    if (path == last_path) nucseg::StopSignal::raise_for_test(SIGTERM);
    return read(path);
  };
  nucseg::StopSignal::install();
  auto report = run_inference(small_tiles_config(out), world, inputs, stages, {}, 0.0);
  nucseg::StopSignal::reset();
  EXPECT_EQ(report.exit_code, nucseg::exit_codes::ok);
  EXPECT_FALSE(report.stopped);
  EXPECT_EQ(report.stop_signal, SIGTERM);
  EXPECT_EQ(sum(world, report.processed), 10);
  if (world.is_root()) {
    ASSERT_TRUE(report.assembled);
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.read_strings("index/image_id").size(), 10u);
  }
  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

// One image of many tile batches on 2 ranks: the rank without an image computes some of its
// batches, and the result is exactly the single-rank one. A helper that fails fails the image
// (recorded, no hang); so does an owner whose own batch fails while a helper holds another.
TEST(Driver, OneHugeImageIsSharedByTheRanks) {
  nucseg::dist::World world(&g_argc, &g_argv);
  ASSERT_EQ(world.size(), 2);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-share-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path in = stdfs::path(root) / "in", out = stdfs::path(root) / "out";
  if (world.is_root()) {
    stdfs::remove_all(root);
    write_disks(in / "huge.png", {300, 260}, {{40, 40}, {150, 100}, {220, 200}, {60, 230}}, 18);
  }
  world.barrier();
  const auto inputs = discover_inputs(in.string());
  nucseg::InferConfig config = small_tiles_config(out);
  Stages stages = fake_stages();
  const auto fast_model = stages.model;
  // The rank computing a batch marks `marks`/<rank>; each rank's first batch of a run then waits
  // (at most 20 s) for the other rank's mark. The owner thus waits until the idle rank has
  // computed a batch, however late the scheduler starts that rank (a fixed sleep per batch did
  // not bound it); a helper that never helps leaves the owner waiting 20 s, then failing below.
  const int me = world.rank();
  auto meeting = [fast_model, me](const stdfs::path& marks) {
    auto waited = std::make_shared<bool>(false);
    return [fast_model, me, marks, waited](const std::vector<float>& batch, int n, int h, int w,
                                          std::vector<float>& logits) {
      nucseg::testing::touch(marks / std::to_string(me));
      for (int i = 0; i < 2000 && !*waited && !stdfs::exists(marks / std::to_string(1 - me)); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      *waited = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // time for the other rank to join
      fast_model(batch, n, h, w, logits);
    };
  };
  stages.model = meeting(stdfs::path(root) / "marks-share");

  auto report = run_inference(config, world, inputs, stages, {}, 0.0);
  EXPECT_EQ(report.exit_code, nucseg::exit_codes::ok);
  EXPECT_EQ(sum(world, report.processed), 1);
  const long helped = sum(world, report.batches_helped);
  EXPECT_GT(helped, 0) << "the idle rank computed no batch";
  EXPECT_EQ(sum(world, report.batches_received), helped);
  if (world.is_root()) {
    // The single-rank result of the same tiler and model.
    cv::Mat bgr = cv::imread((in / "huge.png").string(), cv::IMREAD_COLOR), rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    TilerOptions options;
    options.tile = config.tile;
    options.overlap = config.overlap;
    options.batch = config.batch;
    options.ranges.assign(3, nucseg::io::ChannelRange{0.0, 255.0});
    const auto probs = predict_tiled(rgb, options, fast_model);
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    auto q = seg.read<uint8_t>("images/huge/probabilities");
    ASSERT_EQ(q.size(), 3u * 260 * 300);  // rows x cols
    for (int k = 0; k < 3; ++k) {
      cv::Mat expected;
      probs[static_cast<size_t>(k)].convertTo(expected, CV_8U, 255.0);
      cv::Mat got(260, 300, CV_8U, &q[static_cast<size_t>(k) * 260 * 300]);
      EXPECT_EQ(cv::countNonZero(got != expected), 0) << "class " << k;
    }
  }

  // A failing model while batches are shared: on a helper, the owner computes the batch itself
  // and the image succeeds; on the owner, the image fails. Neither hangs.
  config.overwrite = true;
  const int failing_rank = world.rank();
  for (int bad : {0, 1}) {
    Stages flaky = stages;
    const auto slow_model = meeting(stdfs::path(root) / ("marks-bad" + std::to_string(bad)));
    flaky.model = [slow_model, bad, failing_rank](const std::vector<float>& batch, int n, int h, int w,
                                                   std::vector<float>& logits) {
      slow_model(batch, n, h, w, logits);
      if (failing_rank == bad) throw std::runtime_error("injected model failure");
    };
    auto run = run_inference(config, world, inputs, flaky, {}, 0.0);
    const long owner = sum(world, (run.processed + run.failed) * world.rank());  // the rank that took the image
    if (owner == bad) {
      EXPECT_EQ(run.exit_code, nucseg::exit_codes::partial) << "failing owner " << bad;
      EXPECT_EQ(run.failed_total, 1) << "failing owner " << bad;
    } else {
      EXPECT_EQ(run.exit_code, nucseg::exit_codes::ok) << "failing helper " << bad;
      EXPECT_EQ(sum(world, run.processed), 1) << "failing helper " << bad;
      EXPECT_GT(sum(world, run.batches_helped), 0) << "the helper took no batch: the recovery path did not run";
    }
  }
  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

// A resumed run redoes a result cut short under its final name, and every result of another
// model: segmentation.h5 then holds the new model's results only.
TEST(Driver, DamagedAndOtherModelsResultsAreRedone) {
  nucseg::dist::World world(&g_argc, &g_argv);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-redo-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path in = stdfs::path(root) / "in", out = stdfs::path(root) / "out";
  if (world.is_root()) {
    stdfs::remove_all(root);
    write_disks(in / "a.png", {90, 70}, {{20, 20}, {50, 40}}, 8);
    write_disks(in / "b.png", {60, 80}, {{30, 30}}, 9);
    write_disks(in / "c.png", {70, 70}, {{15, 50}, {50, 15}, {50, 50}}, 7);
  }
  world.barrier();
  const auto inputs = discover_inputs(in.string());
  const auto config = small_tiles_config(out);
  Provenance model_a;
  model_a.checkpoint_hash = "aaaa";
  model_a.settings = "infer.tile = 64\n";
  const auto stages = fake_stages();
  auto first = run_inference(config, world, inputs, stages, model_a, 0.0);
  EXPECT_EQ(sum(world, first.processed), 3);

  if (world.is_root()) {
    auto damaged = out / "images" / "b.h5";
    stdfs::resize_file(damaged, stdfs::file_size(damaged) / 3);
  }
  world.barrier();
  auto resumed = run_inference(config, world, inputs, stages, model_a, 0.0);
  EXPECT_EQ(resumed.exit_code, nucseg::exit_codes::ok);
  EXPECT_EQ(sum(world, resumed.redone), 1);
  EXPECT_EQ(sum(world, resumed.processed), 1);
  EXPECT_EQ(sum(world, resumed.skipped), 2);

  // Model B finds no nucleus at all: after its run, no result of model A may remain.
  Provenance model_b = model_a;
  model_b.checkpoint_hash = "bbbb";
  Stages blind = stages;
  blind.model = [](const std::vector<float>&, int n, int h, int w, std::vector<float>& logits) {
    size_t plane = static_cast<size_t>(h) * w;
    for (size_t i = 0; i < static_cast<size_t>(n) * 3 * plane; ++i) logits[i] = (i / plane) % 3 == 0 ? 5.0f : -5.0f;
  };
  auto other = run_inference(config, world, inputs, blind, model_b, 0.0);
  EXPECT_EQ(sum(world, other.redone), 3);
  EXPECT_EQ(sum(world, other.processed), 3);
  if (world.is_root()) {
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.attr_string("checkpoint_hash"), "bbbb");
    EXPECT_EQ(seg.read<int64_t>("index/n_objects"), (std::vector<int64_t>{0, 0, 0}));
    for (std::string id : {"a", "b", "c"})
      EXPECT_EQ(seg.attr_string_on("images/" + id, "checkpoint_hash"), "bbbb") << id;
  }
  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

// A rerun into the same folder with another plate under the same file names, then with one of
// its images edited in place: the results of other or older pixels are redone, never reused
// by id alone, and segmentation.h5 lists this run's sources.
TEST(Driver, ResultsOfAnotherOrChangedSourceAreRedone) {
  nucseg::dist::World world(&g_argc, &g_argv);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-source-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path plate_a = stdfs::path(root) / "plateA", plate_b = stdfs::path(root) / "plateB", out = stdfs::path(root) / "out";
  if (world.is_root()) {
    stdfs::remove_all(root);
    write_disks(plate_a / "well0.png", {90, 70}, {{20, 20}, {50, 40}}, 8);
    write_disks(plate_a / "well1.png", {60, 80}, {{30, 30}}, 9);
    write_disks(plate_b / "well0.png", {90, 70}, {{45, 35}}, 8);
    write_disks(plate_b / "well1.png", {60, 80}, {{15, 15}, {40, 20}, {20, 60}}, 6);
  }
  world.barrier();
  const auto config = small_tiles_config(out);
  Provenance prov;
  prov.checkpoint_hash = "aaaa";
  const auto stages = fake_stages();
  EXPECT_EQ(sum(world, run_inference(config, world, discover_inputs(plate_a.string()), stages, prov, 0.0).processed), 2);

  const auto inputs_b = discover_inputs(plate_b.string());
  auto other_plate = run_inference(config, world, inputs_b, stages, prov, 0.0);
  EXPECT_EQ(sum(world, other_plate.redone), 2);
  EXPECT_EQ(sum(world, other_plate.skipped), 0);
  if (world.is_root()) {
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.read_strings("index/source_path"),
              (std::vector<std::string>{(plate_b / "well0.png").string(), (plate_b / "well1.png").string()}));
    EXPECT_EQ(seg.read<int64_t>("index/n_objects"), (std::vector<int64_t>{1, 3}));
    // A new export of well0 under the same name: new pixels, new size.
    write_disks(plate_b / "well0.png", {90, 70}, {{15, 15}, {45, 15}, {15, 50}, {50, 50}}, 6);
  }
  world.barrier();
  auto edited = run_inference(config, world, inputs_b, stages, prov, 0.0);
  EXPECT_EQ(sum(world, edited.redone), 1);
  EXPECT_EQ(sum(world, edited.skipped), 1);
  if (world.is_root()) {
    nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(seg.read<int64_t>("index/n_objects"), (std::vector<int64_t>{4, 3}));
  }
  world.barrier();
  if (world.is_root()) stdfs::remove_all(root);
}

TEST(Driver, EmptyOutputIsAConfigError) {
  nucseg::dist::World world(&g_argc, &g_argv);
  InputSet inputs;
  nucseg::InferConfig config;
  try {
    run_inference(config, world, inputs, fake_stages(), {}, 0.0);
    ADD_FAILURE() << "no error";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.output");
  }
}

}  // namespace
