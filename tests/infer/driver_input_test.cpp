// The inference driver on one rank with the real image preparation (prepare.hpp: channels and
// normalisation as the checkpoint says), the real instance step and a fake pointwise network:
// 12-bit input, a channel choice, rescaling by infer.diameter (a number; "auto" in
// driver_auto_test.cpp), the per-channel columns, and the configuration errors of infer.diameter.
#include "nucseg/infer/driver.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../io/tiff_fixture.hpp"
#include "driver_fixture.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/prepare.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/segment/measure.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;
using namespace nucseg::testing::driver;
using nucseg::testing::ScratchDir;

TEST(DriverInput, TwelveBitInputGivesTheClassMapOfItsEightBitOriginal) {
  ScratchDir dir("driver-12bit");
  const stdfs::path in = dir.path() / "in";
  stdfs::create_directories(in);
  const std::vector<cv::Point> centres = {{30, 30}, {80, 50}, {120, 100}, {45, 110}};
  cv::Mat eight = disks({150, 130}, CV_8UC3, 20, 200, centres, 12);
  // The same picture as 12-bit data in a 16-bit file: v * 4095 / 255.
  cv::Mat twelve;
  eight.convertTo(twelve, CV_16UC3, 4095.0 / 255.0);
  ASSERT_TRUE(cv::imwrite((in / "eight.png").string(), eight));
  ASSERT_TRUE(cv::imwrite((in / "twelve.png").string(), twelve));
  const stdfs::path out = dir.path() / "out";
  auto config = config_for(out);
  // An older checkpoint (no data.normalize recorded): range of the effective bit depth; then
  // percentiles as a newer one records.
  for (const std::string& recorded : {std::string(), training_config("percentile")}) {
    SCOPED_TRACE(recorded.empty() ? "range (older checkpoint)" : "percentile");
    const InputRule rule = resolve_input_rule(config, recorded, "test.pt");
    EXPECT_EQ(rule.normalize.kind, recorded.empty() ? nucseg::io::NormalizeKind::range
                                                    : nucseg::io::NormalizeKind::percentile);
    auto report = run(config, in, stages_for(rule));
    ASSERT_EQ(report.exit_code, 0);
    const cv::Mat a = read_class_map(out, "eight"), b = read_class_map(out, "twelve");
    EXPECT_GT(cv::countNonZero(a == 1), 4 * 400);  // four disks of interior
    EXPECT_EQ(cv::countNonZero(a != b), 0);
    nucseg::h5::File f((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_EQ(f.read<int64_t>("index/effective_bit_depth"), (std::vector<int64_t>{8, 12}));
    EXPECT_EQ(f.read<int64_t>("index/n_objects"), (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(f.read<double>("index/scale"), (std::vector<double>{1.0, 1.0}));
  }
}

// Channel 0 holds two decoy blobs, channel 1 three nuclei, channel 2 nothing: infer.channels =
// [1] finds the three nuclei, fed to the three inputs alike; the objects table has the raw
// per-channel means and sums of all three source channels.
TEST(DriverInput, ChannelChoicePicksTheNuclearChannelAndEveryChannelIsMeasured) {
  ScratchDir dir("driver-channels");
  const stdfs::path in = dir.path() / "in";
  const cv::Size size(120, 100);
  std::vector<cv::Mat> planes = {disks(size, CV_16U, 100, 3000, {{20, 80}, {100, 80}}, 9),
                                 disks(size, CV_16U, 50, 2500, {{25, 25}, {60, 40}, {95, 25}}, 10),
                                 cv::Mat::zeros(size, CV_16U)};
  cv::Mat image;
  cv::merge(planes, image);
  nucseg::testing::write_tiff(in / "three.tif", {{image}});
  const stdfs::path out = dir.path() / "out";
  auto config = config_for(out);
  config.infer.channels = nucseg::parse_channel_spec("[1]", "infer.channels", true);
  Seen seen;
  const InputRule rule = resolve_input_rule(config, training_config("range"), "test.pt");
  ASSERT_EQ(run(config, in, stages_for(rule, &seen)).exit_code, 0);
  EXPECT_FALSE(seen.planes_differ) << "channel [1] is replicated to the three inputs";

  nucseg::h5::File f((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  const auto labels = f.read<int32_t>("objects/label");
  ASSERT_EQ(labels.size(), 3u);
  const auto area = f.read<double>("objects/area");
  const auto row = f.read<double>("objects/centroid_row");
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_NEAR(row[i], row[i] < 30 ? 25 : 40, 1.0);  // the channel-1 nuclei, not the decoys (row 80)
    EXPECT_DOUBLE_EQ(f.read<double>("objects/mean_intensity_c1")[i], 2500.0);
    EXPECT_DOUBLE_EQ(f.read<double>("objects/integrated_intensity_c1")[i], 2500.0 * area[i]);
    EXPECT_DOUBLE_EQ(f.read<double>("objects/mean_intensity_c0")[i], 100.0);  // decoy background
    EXPECT_DOUBLE_EQ(f.read<double>("objects/integrated_intensity_c2")[i], 0.0);
    EXPECT_DOUBLE_EQ(f.read<double>("objects/mean_intensity")[i], 2500.0);  // the network's inputs
  }

  // The same file read as channel 0 finds the two decoys.
  config.infer.channels = nucseg::parse_channel_spec("[0]", "infer.channels", true);
  ASSERT_EQ(run(config, in, stages_for(resolve_input_rule(config, training_config("range"), "test.pt"))).exit_code, 0);
  nucseg::h5::File g((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(g.read<int32_t>("objects/label").size(), 2u);
}

// Nuclei of diameter ~10 px against a training diameter of 20: the network sees the image at
// twice its size (tile sides of that image's grid), results come back at the input's size, and
// segment.min_area (in network pixels) keeps a 3x3 speck that is 36 network pixels.
TEST(DriverInput, NumericDiameterRescalesAndResultsComeBackAtInputSize) {
  ScratchDir dir("driver-diameter");
  const stdfs::path in = dir.path() / "in";
  stdfs::create_directories(in);
  const cv::Size size(100, 80);
  cv::Mat image = disks(size, CV_8UC3, 10, 220, {{20, 20}, {60, 25}, {35, 60}, {80, 60}}, 5);
  image(cv::Rect(90, 5, 3, 3)).setTo(cv::Scalar::all(220));
  ASSERT_TRUE(cv::imwrite((in / "small.png").string(), image));
  const stdfs::path out = dir.path() / "out";
  auto config = config_for(out);
  config.infer.diameter.pixels = 10.0;
  Seen seen;
  auto stages = stages_for(resolve_input_rule(config, "", "test.pt"), &seen);
  stages.training_diameter = 20.0;
  ASSERT_EQ(run(config, in, stages).exit_code, 0);

  const auto grid = make_tile_grid(160, 200, config.infer.tile, config.infer.overlap);  // the image at scale 2
  EXPECT_EQ(seen.tile_sides, (std::set<std::pair<int, int>>{{grid.tile_height, grid.tile_width}}));
  const cv::Mat labels = read_labels(out, "small");
  EXPECT_EQ(labels.size(), size);
  double largest = 0;
  cv::minMaxLoc(labels, nullptr, &largest);
  EXPECT_EQ(largest, 5.0) << "four nuclei and the speck";
  const cv::Mat drawn = disks(size, CV_8U, 0, 255, {{20, 20}}, 5);
  const int id = labels.at<int32_t>(20, 20);
  EXPECT_LE(cv::countNonZero((labels == id) != drawn), 8) << "the nucleus outline at the input's resolution";
  nucseg::h5::File f((out / "images" / "small.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_DOUBLE_EQ(f.attr_double("scale"), 2.0);
}

// A network with a distance head (Stages::extras = 1): its 4th output reaches the segment step
// and splits two overlapping nuclei the class map shows as one blob of interior; the class map
// is the argmax of the three classes alone. The fake network reads the blob from the red
// channel and the distance output from the green one (a cone per nucleus).
TEST(DriverInput, DistanceOutputReachesTheSegmentStep) {
  ScratchDir dir("driver-distance");
  const stdfs::path in = dir.path() / "in";
  stdfs::create_directories(in);
  const cv::Size size(100, 80);
  const std::vector<cv::Point> centres = {{35, 40}, {60, 40}};
  cv::Mat image(size, CV_8UC3, cv::Scalar::all(0));  // BGR as written
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x)
      for (auto c : centres) {
        const double r = std::hypot(x - c.x, y - c.y);
        if (r > 14) continue;
        auto& px = image.at<cv::Vec3b>(y, x);
        px[2] = 220;
        px[1] = std::max<uint8_t>(px[1], cv::saturate_cast<uint8_t>(255.0 * (1.0 - r / 14.0)));
      }
  ASSERT_TRUE(cv::imwrite((in / "pair.png").string(), image));
  const stdfs::path out = dir.path() / "out";
  auto config = config_for(out);
  auto stages = stages_for(resolve_input_rule(config, training_config("range"), "test.pt"));
  stages.extras = 1;
  stages.segment_params.seeds = nucseg::segment::SeedMode::predicted;
  stages.model = [](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    const size_t plane = static_cast<size_t>(h) * w;
    for (int i = 0; i < n; ++i) {
      const float* rgb = &batch[static_cast<size_t>(i) * 3 * plane];
      float* out = &logits[static_cast<size_t>(i) * 4 * plane];
      for (size_t p = 0; p < plane; ++p) {
        out[p] = 0.0f;
        out[plane + p] = 20.0f * (rgb[p] - 0.5f);
        out[2 * plane + p] = -10.0f;
        out[3 * plane + p] = 12.0f * (rgb[plane + p] - 0.5f);
      }
    }
  };
  ASSERT_EQ(run(config, in, stages).exit_code, 0);
  const cv::Mat labels = read_labels(out, "pair");
  double largest = 0;
  cv::minMaxLoc(labels, nullptr, &largest);
  EXPECT_EQ(largest, 2.0) << "the two overlapping nuclei, split by the distance output";
  EXPECT_NE(labels.at<int32_t>(40, 30), labels.at<int32_t>(40, 65));
  double top_class = 0;
  cv::minMaxLoc(read_class_map(out, "pair"), nullptr, &top_class);
  EXPECT_EQ(top_class, 1.0) << "the class map holds the classes only";

  // Without the distance output the same blob is one nucleus under interior seeding: the split
  // above came from the 4th output.
  auto plain = stages_for(resolve_input_rule(config, training_config("range"), "test.pt"));
  plain.segment_params.seeds = nucseg::segment::SeedMode::interior;
  ASSERT_EQ(run(config, in, plain).exit_code, 0);
  cv::minMaxLoc(read_labels(out, "pair"), nullptr, &largest);
  EXPECT_EQ(largest, 1.0);
}

TEST(DriverInput, DiameterNeedsACheckpointThatRecordsOne) {
  ScratchDir dir("driver-nodiameter");
  nucseg::Config config = config_for(dir.path() / "out");
  auto stages = stages_for(resolve_input_rule(config, "", "test.pt"));
  {
    config.infer.diameter = {false, 15.0};
    try {
      nucseg::dist::World world(&g_argc, &g_argv);
      run_inference(config.infer, world, InputSet{}, stages, {}, 0.0);
      ADD_FAILURE() << "no error";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.context().key, "infer.diameter");
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
    }
  }
  // A rescale beyond 10x is refused too.
  stages.training_diameter = 200.0;
  config.infer.diameter = {false, 2.0};
  nucseg::dist::World world(&g_argc, &g_argv);
  EXPECT_THROW(run_inference(config.infer, world, InputSet{}, stages, {}, 0.0), nucseg::Error);
}

// The checkpoint's recorded choices unless infer.* overrides them; older checkpoints: rgb + range.
TEST(DriverInput, InputRuleComesFromTheCheckpointUnlessOverridden) {
  nucseg::Config config;
  const std::string recorded =
      "[data]\nchannels = [2]\nnormalize = \"fixed\"\nnormalize_min = 100.0\nnormalize_max = 4000.0\n"
      "[gone]\nold_key = 1\n";
  auto rule = resolve_input_rule(config, recorded, "ckpt.pt");
  EXPECT_EQ(rule.channels, (nucseg::ChannelSpec{nucseg::ChannelSpec::Kind::indices, {2}}));
  EXPECT_EQ(nucseg::io::describe(rule.normalize), "fixed 100 4000");
  EXPECT_EQ(rule.normalize_origin, "checkpoint");
  auto old = resolve_input_rule(config, "[model]\nclasses = 3\n", "ckpt.pt");
  EXPECT_EQ(old.channels.kind, nucseg::ChannelSpec::Kind::rgb);
  EXPECT_EQ(nucseg::io::describe(old.normalize), "range");
  config.infer.channels = {nucseg::ChannelSpec::Kind::gray, {}};
  config.infer.normalize = "percentile";
  config.data.normalize_high = 99.0;
  auto mine = resolve_input_rule(config, recorded, "ckpt.pt");
  EXPECT_EQ(mine.channels.kind, nucseg::ChannelSpec::Kind::gray);
  EXPECT_EQ(mine.channels_key, "infer.channels");
  EXPECT_EQ(nucseg::io::describe(mine.normalize), "percentile 1 99");
  try {
    resolve_input_rule(config, "[data]\nnormalize = \"zscore\"\n", "ckpt.pt");
    ADD_FAILURE() << "no error";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().file, "ckpt.pt");
    EXPECT_EQ(e.context().key, "data.normalize");
  }
}

}  // namespace
