// The inference driver on one rank with the real image preparation (prepare.hpp: channels and
// normalisation as the checkpoint says), the real instance step and a fake pointwise network:
// 12-bit input, a channel choice, rescaling by infer.diameter (a number and "auto"), the
// per-channel columns, and the configuration errors of infer.diameter.
#include "nucseg/infer/driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../io/tiff_fixture.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/prepare.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/segment/label_flows.hpp"
#include "nucseg/segment/measure.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;
using nucseg::testing::ScratchDir;

int g_argc = 0;
char** g_argv = nullptr;

// What the fake network saw: tile sides, and whether its three input planes were identical.
struct Seen {
  std::mutex mutex;
  std::set<std::pair<int, int>> tile_sides;
  size_t tiles = 0;
  bool planes_differ = false;
};

// Pointwise: interior where the first input is above 0.5, else background.
Stages stages_for(const InputRule& rule, Seen* seen = nullptr) {
  Stages s;
  s.read = [rule](const std::string& path) { return load_image(path, rule); };
  s.model = [seen](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
    const size_t plane = static_cast<size_t>(h) * w;
    for (int i = 0; i < n; ++i) {
      const float* in = &batch[static_cast<size_t>(i) * 3 * plane];
      for (size_t p = 0; p < plane; ++p) {
        logits[(i * 3 + 0) * plane + p] = 0.0f;
        logits[(i * 3 + 1) * plane + p] = 20.0f * (in[p] - 0.5f);
        logits[(i * 3 + 2) * plane + p] = -10.0f;
      }
      if (!seen) continue;
      std::lock_guard<std::mutex> lock(seen->mutex);
      seen->tile_sides.insert({h, w});
      ++seen->tiles;
      for (size_t p = 0; p < plane; ++p)
        if (in[p] != in[plane + p] || in[p] != in[2 * plane + p]) seen->planes_differ = true;
    }
  };
  s.segment_params.min_area = 12;
  s.segment = [](const nucseg::segment::ClassEvidence& e) { return nucseg::segment::instances_from_evidence(e); };
  s.measure = [](const std::string& id, const cv::Mat& labels, const LoadedImage& image) {
    auto t = nucseg::segment::measure_objects(id, labels, image.rgb);
    nucseg::segment::measure_channels(labels, image.raw, t);
    return t;
  };
  return s;
}

nucseg::Config config_for(const stdfs::path& out) {
  nucseg::Config c;
  c.infer.output = out.string();
  c.infer.tile = 64;
  c.infer.overlap = 16;
  c.infer.batch = 2;
  c.infer.overwrite = true;
  c.infer.diameter = {false, 0.0};  // native scale unless a test asks for rescaling
  return c;
}

RunReport run(const nucseg::Config& config, const stdfs::path& in, const Stages& stages) {
  nucseg::dist::World world(&g_argc, &g_argv);
  return run_inference(config.infer, world, discover_inputs(in.string()), stages, {}, 0.0);
}

cv::Mat read_labels(const stdfs::path& out, const std::string& id) {
  nucseg::h5::File f((out / "images" / (id + ".h5")).string(), nucseg::h5::File::Mode::read);
  auto shape = f.shape("labels");
  auto v = f.read<int32_t>("labels");
  return cv::Mat(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_32S, v.data()).clone();
}

cv::Mat read_class_map(const stdfs::path& out, const std::string& id) {
  nucseg::h5::File f((out / "images" / (id + ".h5")).string(), nucseg::h5::File::Mode::read);
  auto shape = f.shape("class_map");
  auto v = f.read<uint8_t>("class_map");
  return cv::Mat(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_8U, v.data()).clone();
}

cv::Mat disks(cv::Size size, int type, double background, double value, const std::vector<cv::Point>& centres,
              int radius) {
  cv::Mat m(size, type, cv::Scalar::all(background));
  for (auto c : centres) cv::circle(m, c, radius, cv::Scalar::all(value), cv::FILLED);
  return m;
}

// A checkpoint's recorded configuration naming only the normalisation.
std::string training_config(const std::string& normalize) { return "[data]\nnormalize = \"" + normalize + "\"\n"; }

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

// Five nuclei of ~10.5 px in a 120 x 90 image, auto.png in <root>/in, and a configuration for
// infer.diameter = "auto" writing to <root>/out: the scene of the "auto" tests.
struct AutoScene {
  stdfs::path in, out;
  cv::Mat image;
  nucseg::Config config;
};

AutoScene auto_scene(const stdfs::path& root) {
  AutoScene s;
  s.in = root / "in";
  s.out = root / "out";
  stdfs::create_directories(s.in);
  s.image = disks({120, 90}, CV_8UC3, 10, 220, {{20, 20}, {60, 25}, {35, 60}, {90, 60}, {100, 20}}, 5);
  if (!cv::imwrite((s.in / "auto.png").string(), s.image)) ADD_FAILURE() << "cannot write the auto scene";
  s.config = config_for(s.out);
  s.config.infer.diameter.automatic = true;
  return s;
}

// "auto": the first pass measures nuclei of ~10 px; against a training diameter of 13 the
// image is run again at scale ~1.3, and that pass is kept when the network is surer of its
// foreground there, else the first stands; against 20 (nuclei below 0.75x the training size)
// it is run at scale 2 and kept even where the network is less sure; against 11 (within 20%)
// there is no second pass, nor against a checkpoint that records no diameter (0), even where a
// second pass would be surer.
// The model below is sure (logit margin 20) or unsure (2) by pass: the tiles up to
// `native_tiles` are the first pass's.
TEST(DriverInput, AutoDiameterMeasuresThenRescalesWhenTheNetworkIsSurer) {
  ScratchDir dir("driver-auto");
  const AutoScene scene = auto_scene(dir.path());
  const stdfs::path& in = scene.in;
  const stdfs::path& out = scene.out;
  const cv::Mat& image = scene.image;
  auto config = scene.config;
  const size_t native_tiles = make_tile_grid(90, 120, config.infer.tile, config.infer.overlap).count();
  struct Case {
    double training;
    float first_margin, second_margin;
    double scale;  // kept
  };
  for (const Case c : {Case{13.0, 2.0f, 20.0f, 1.28}, Case{13.0, 20.0f, 2.0f, 1.0}, Case{20.0, 20.0f, 2.0f, 2.0},
                       Case{11.0, 20.0f, 20.0f, 1.0}, Case{0.0, 2.0f, 20.0f, 1.0}}) {
    SCOPED_TRACE(testing::Message() << "training " << c.training << ", margins " << c.first_margin << " / "
                                    << c.second_margin);
    Seen seen;
    auto stages = stages_for(resolve_input_rule(config, "", "test.pt"), &seen);
    stages.training_diameter = c.training;
    auto pointwise = stages.model;
    stages.model = [&, pointwise](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
      size_t before = 0;
      {
        std::lock_guard<std::mutex> lock(seen.mutex);
        before = seen.tiles;
      }
      pointwise(batch, n, h, w, logits);  // counts the tiles
      const float margin = before < native_tiles ? c.first_margin : c.second_margin;
      const size_t plane = static_cast<size_t>(h) * w;
      for (int i = 0; i < n; ++i)
        for (size_t p = 0; p < plane; ++p) logits[(i * 3 + 1) * plane + p] *= margin / 20.0f;
    };
    ASSERT_EQ(run(config, in, stages).exit_code, 0);
    nucseg::h5::File f((out / "images" / "auto.h5").string(), nucseg::h5::File::Mode::read);
    const double scale = f.attr_double("scale");
    if (c.scale != 1.0) {
      EXPECT_NEAR(scale, c.scale, 0.15);
      const cv::Size twice = scaled_size({120, 90}, scale);
      EXPECT_EQ(seen.tiles, native_tiles + make_tile_grid(twice.height, twice.width, 64, 16).count())
          << "a pass at native scale, then one rescaled";
    } else {
      EXPECT_EQ(scale, 1.0);
      if (c.training == 13.0) {
        EXPECT_GT(seen.tiles, native_tiles) << "a rescaled pass ran and was not kept";
      } else {
        EXPECT_EQ(seen.tiles, native_tiles);
      }
    }
    EXPECT_EQ(f.attr_int("n_objects"), 5);
    EXPECT_EQ(read_labels(out, "auto").size(), image.size());
    if (c.scale == 1.0 && c.training == 13.0) {
      // The first pass stands untouched by the second: the same labels and class map as a run
      // without rescaling.
      const cv::Mat labels = read_labels(out, "auto").clone(), classes = read_class_map(out, "auto").clone();
      const stdfs::path out_fixed = dir.path() / "fixed";
      const auto fixed = config_for(out_fixed);
      ASSERT_FALSE(fixed.infer.diameter.automatic);
      ASSERT_EQ(run(fixed, in, stages_for(resolve_input_rule(fixed, "", "test.pt"))).exit_code, 0);
      EXPECT_EQ(cv::countNonZero(labels != read_labels(out_fixed, "auto")), 0);
      EXPECT_EQ(cv::countNonZero(classes != read_class_map(out_fixed, "auto")), 0);
    }
  }
}

// "auto" with a flow head (Stages::extras = 2, or 3 after a distance head): the pass whose labels
// fit the network's own flow is kept, whatever the network's confidence. The fake network's flow is, by pass, either the
// flow its own blobs imply (segment::flow_targets of the tile's components: flow error near 0)
// or none (0 everywhere: flow error near 1); its confidence is set against that, so only the
// flow can choose right. Nuclei of ~10.5 px against a training diameter of 13: with a flow
// head the candidate is an enlargement by 2.
TEST(DriverInput, AutoDiameterWithAFlowHeadKeepsThePassThatFitsTheFlow) {
  ScratchDir dir("driver-auto-flow");
  const AutoScene scene = auto_scene(dir.path());
  const stdfs::path& in = scene.in;
  const stdfs::path& out = scene.out;
  auto config = scene.config;
  config.infer.tile = 256;  // one tile per pass, so no nucleus is cut by a tile's edge
  // The flow planes are the last two: after the classes alone, or after a distance head's map.
  for (const auto& c : {std::pair{2, true}, {2, false}, {3, true}, {3, false}}) {
    const int extras = c.first;
    const bool second_fits = c.second;  // plain variables: a C++17 lambda cannot capture a structured binding
    SCOPED_TRACE(testing::Message() << (second_fits ? "the rescaled pass fits its flow" : "the native pass fits its flow")
                                    << ", " << extras << " extra outputs");
    Seen seen;
    auto stages = stages_for(resolve_input_rule(config, "", "test.pt"), &seen);
    stages.training_diameter = 13.0;
    stages.extras = extras;
    stages.model = [&](const std::vector<float>& batch, int n, int h, int w, std::vector<float>& logits) {
      size_t before = 0;
      {
        std::lock_guard<std::mutex> lock(seen.mutex);
        before = seen.tiles;
        seen.tiles += static_cast<size_t>(n);
      }
      const bool first = before == 0;
      const bool fits = first != second_fits;
      const float margin = fits ? 2.0f : 20.0f;  // surer where the flow is wrong
      const size_t plane = static_cast<size_t>(h) * w;
      for (int i = 0; i < n; ++i) {
        const cv::Mat red(h, w, CV_32F, const_cast<float*>(&batch[static_cast<size_t>(i) * 3 * plane]));
        cv::Mat components;
        cv::connectedComponents(red > 0.5f, components, 8, CV_32S);
        const cv::Mat flow = nucseg::segment::flow_targets(components);
        const int outputs = 3 + extras;
        float* o = &logits[static_cast<size_t>(i) * outputs * plane];
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) {
            const size_t p = static_cast<size_t>(y) * w + x;
            o[p] = 0.0f;
            o[plane + p] = margin * (red.at<float>(y, x) - 0.5f);
            o[2 * plane + p] = -10.0f;
            if (extras == 3) o[3 * plane + p] = 0.0f;  // a distance map, unused by distance seeding
            for (int k = 0; k < 2; ++k) {  // the sigmoid of 2 atanh(d) is (1 + d) / 2
              const float d = fits ? std::clamp(flow.at<cv::Vec2f>(y, x)[k], -0.99f, 0.99f) : 0.0f;
              o[(outputs - 2 + k) * plane + p] = 2.0f * std::atanh(d);
            }
          }
      }
    };
    ASSERT_EQ(run(config, in, stages).exit_code, 0);
    EXPECT_EQ(seen.tiles, 2u) << "a pass at native scale, then one enlarged";
    nucseg::h5::File f((out / "images" / "auto.h5").string(), nucseg::h5::File::Mode::read);
    EXPECT_DOUBLE_EQ(f.attr_double("scale"), second_fits ? 2.0 : 1.0);
    EXPECT_EQ(f.attr_int("n_objects"), 5);
  }
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
