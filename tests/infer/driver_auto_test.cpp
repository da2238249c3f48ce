// infer.diameter = "auto" in the driver on one rank with the real image preparation and instance
// step and a fake network: the first pass measures, a second pass runs at a candidate scale, and
// the better pass is kept (by the network's confidence, or with a flow head by the flow error).
#include "nucseg/infer/driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "driver_fixture.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/prepare.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/segment/label_flows.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;
using namespace nucseg::testing::driver;
using nucseg::testing::ScratchDir;

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
    // The "unsure" pass calls the nuclei foreground with ~0.7: the test is about which pass is
    // kept, not about segment.min_confidence removing an unsure pass's objects.
    stages.segment_params.min_confidence = 0.0;
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
// fit the network's own flow is kept, whatever the network's confidence. The fake network's flow
// is, by pass, either the flow its own blobs imply (segment::flow_targets of the tile's components: flow error near 0)
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
    stages.segment_params.min_confidence = 0.0;  // as above: the pass choice alone
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

}  // namespace
