#include "nucseg/infer/magnification.hpp"

#include <gtest/gtest.h>

#include <array>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"

namespace {

using namespace nucseg::infer;
using nucseg::DiameterSpec;

TEST(Magnification, AutoRescalesOnlyImagesWhoseFloatsFitTheBudget) {
  EXPECT_TRUE(auto_pass_fits({520, 696}, 2.0));
  EXPECT_TRUE(auto_pass_fits({4096, 4096}, 0.5));
  EXPECT_TRUE(auto_pass_fits({2048, 2048}, 2.0));   // exactly 4096 x 4096 rescaled
  EXPECT_FALSE(auto_pass_fits({2048, 2048}, 2.01));
  EXPECT_FALSE(auto_pass_fits({8192, 8192}, 0.5));  // the input's floats alone are too many
  EXPECT_FALSE(auto_pass_fits({4097, 4096}, 0.5));
}

TEST(Magnification, InitialScaleFromTheGivenDiameter) {
  EXPECT_EQ(initial_scale(DiameterSpec{false, 0.0}, 0.0), 1.0);  // no rescale needs no diameter
  EXPECT_DOUBLE_EQ(initial_scale(DiameterSpec{false, 40.0}, 20.0), 0.5);
  EXPECT_EQ(initial_scale(DiameterSpec{true, 0.0}, 20.0), 1.0);  // auto starts at native scale
  EXPECT_EQ(initial_scale(DiameterSpec{true, 0.0}, 0.0), 1.0);   // ... and stays there without a diameter
  for (auto spec : {DiameterSpec{false, 40.0}, DiameterSpec{false, 10.0}}) {  // a number needs a diameter
    try {
      initial_scale(spec, 0.0);
      ADD_FAILURE() << "no error";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.context().key, "infer.diameter");
      EXPECT_NE(std::string(e.what()).find("records no nucleus diameter"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(initial_scale(DiameterSpec{false, 1.0}, 20.0), nucseg::Error);  // x20
}

TEST(Magnification, AutoRescalesOnlyBeyondTwentyPercent) {
  EXPECT_EQ(auto_scale(18.0, 15.0, 20.0), 1.0);
  EXPECT_EQ(auto_scale(23.0, 30.0, 20.0), 1.0);
  EXPECT_DOUBLE_EQ(auto_scale(10.0, 15.0, 20.0), 2.0);
  EXPECT_DOUBLE_EQ(auto_scale(16.0, 15.0, 20.0), 1.25);  // between 1.2 and 1.33: the ratio itself
  EXPECT_DOUBLE_EQ(auto_scale(40.0, 60.0, 20.0), 0.5);
  EXPECT_EQ(auto_scale(0.0, 0.0, 20.0), 1.0);  // no nuclei found
  EXPECT_EQ(auto_scale(1.0, 1.5, 200.0), kMaxScale);
}

TEST(Magnification, AutoDoesNotEnlargeFragmentsOfAWideForeground) {
  // Objects 0.75-0.83x the training size on a foreground as wide as the training nuclei or
  // wider: fragments (or debris among normal nuclei): no enlargement.
  EXPECT_EQ(auto_scale(16.0, 20.0, 20.0), 1.0);
  EXPECT_EQ(auto_scale(16.0, 45.0, 20.0), 1.0);
  EXPECT_DOUBLE_EQ(auto_scale(16.0, 19.0, 20.0), 1.25);
  EXPECT_FALSE(auto_enlarges_surely(16.0, 20.0));
  // Shrinking is not vetoed by the width.
  EXPECT_DOUBLE_EQ(auto_scale(40.0, 10.0, 20.0), 0.5);
}

// Below 0.75x the training size (half-magnification images: gen_b and gen_c at 0.5x) the
// nuclei are enlarged by at least 2 whatever the foreground's width, and the enlarged pass is
// kept without the confidence check.
TEST(Magnification, ClearlySmallNucleiAreEnlargedAtLeastTwice) {
  EXPECT_TRUE(auto_enlarges_surely(14.9, 20.0));
  EXPECT_FALSE(auto_enlarges_surely(15.0, 20.0));
  EXPECT_FALSE(auto_enlarges_surely(0.0, 20.0));   // nothing found
  EXPECT_FALSE(auto_enlarges_surely(10.0, 0.0));   // no training diameter recorded
  EXPECT_DOUBLE_EQ(auto_scale(14.0, 45.0, 20.0), 2.0);  // ratio 1.43, width ignored
  EXPECT_DOUBLE_EQ(auto_scale(8.0, 30.0, 20.0), 2.5);   // ratio above 2 kept
  EXPECT_EQ(auto_scale(1.0, 1.5, 200.0), kMaxScale);
}

// With a flow head (whose flow error then decides) nuclei that read smaller than the training
// diameter at all get an enlarged candidate, whatever the foreground's width; larger ones as
// without it.
TEST(Magnification, WithAFlowCheckEverySmallerReadingIsTriedEnlarged) {
  EXPECT_DOUBLE_EQ(auto_scale(19.0, 45.0, 20.0, true), 2.0);   // within 20% and a wide foreground
  EXPECT_EQ(auto_scale(19.0, 45.0, 20.0, false), 1.0);
  EXPECT_DOUBLE_EQ(auto_scale(16.0, 45.0, 20.0, true), 2.0);   // 0.8x: without the flow check the width keeps 1
  EXPECT_EQ(auto_scale(16.0, 45.0, 20.0, false), 1.0);
  EXPECT_EQ(auto_scale(20.0, 45.0, 20.0, true), 1.0);          // the training size itself
  EXPECT_EQ(auto_scale(23.0, 30.0, 20.0, true), 1.0);          // larger, within 20%
  EXPECT_DOUBLE_EQ(auto_scale(40.0, 60.0, 20.0, true), 0.5);   // larger beyond it: shrunk as before
  EXPECT_EQ(auto_scale(0.0, 0.0, 20.0, true), 1.0);            // no nuclei found
}

// With a flow head the flow error decides, by the margin, whatever the confidence and the
// size; without one the confidence or a clearly small size does.
TEST(Magnification, RescaledPassKeptWhenItsLabelsFitTheFlowBetter) {
  const PassQuality native{0.90, 0.40};
  EXPECT_TRUE(auto_keeps_rescaled(native, {0.70, 0.40 - kFlowErrorMargin - 0.001}, false));
  EXPECT_FALSE(auto_keeps_rescaled(native, {0.95, 0.40 - kFlowErrorMargin + 0.001}, false));
  EXPECT_FALSE(auto_keeps_rescaled(native, {0.95, 0.45}, true));
  const PassQuality no_flow{0.80, -1.0};
  EXPECT_TRUE(auto_keeps_rescaled(no_flow, {0.81, -1.0}, false));
  EXPECT_FALSE(auto_keeps_rescaled(no_flow, {0.79, -1.0}, false));
  EXPECT_TRUE(auto_keeps_rescaled(no_flow, {0.79, -1.0}, true));
  // The rescaled pass found nothing: not kept, however sure or small.
  EXPECT_FALSE(auto_keeps_rescaled(native, {0.0, -1.0}, false));
  EXPECT_FALSE(auto_keeps_rescaled(native, {0.95, -1.0}, true));
}

TEST(Magnification, ForegroundConfidenceIsTheMeanTopProbabilityWhereTheNetworkSeesNuclei) {
  // Two row bands of a 3-class map. Band 1: a background pixel (not counted), a sure interior
  // pixel (top 0.9) and an unsure one (0.3 / 0.4 / 0.3: top 0.4). Band 2: a border pixel of
  // top 0.6 and one at background probability exactly 0.5 (not foreground).
  auto band = [](std::vector<std::array<float, 3>> pixels) {
    std::vector<cv::Mat> planes(3, cv::Mat(1, static_cast<int>(pixels.size()), CV_32FC1));
    for (auto& p : planes) p = p.clone();
    for (size_t x = 0; x < pixels.size(); ++x)
      for (int c = 0; c < 3; ++c) planes[c].at<float>(0, static_cast<int>(x)) = pixels[x][c];
    return planes;
  };
  ForegroundConfidence confidence;
  EXPECT_EQ(confidence.value(), 0.0);
  confidence.add(band({{0.8f, 0.1f, 0.1f}, {0.05f, 0.9f, 0.05f}, {0.3f, 0.4f, 0.3f}}));
  EXPECT_NEAR(confidence.value(), (0.9 + 0.4) / 2, 1e-6);
  confidence.add(band({{0.1f, 0.3f, 0.6f}, {0.5f, 0.25f, 0.25f}}));
  EXPECT_NEAR(confidence.value(), (0.9 + 0.4 + 0.6) / 3, 1e-6);
  ForegroundConfidence none;
  none.add(band({{0.9f, 0.05f, 0.05f}}));
  EXPECT_EQ(none.value(), 0.0);
}

TEST(Magnification, PixelParametersKeepTheirMeaningAtTheNetworkScale) {
  nucseg::segment::SegmentParams p;
  p.min_area = 12;
  p.seed_distance = 4;
  p.core_seed_area = 30;
  p.interior_reach = 6;
  auto half = params_at_input_scale(p, 0.5);  // nuclei twice the training size
  EXPECT_EQ(half.min_area, 48);
  EXPECT_EQ(half.core_seed_area, 120);
  EXPECT_EQ(half.interior_reach, 12);
  EXPECT_EQ(half.seed_distance, 8);
  EXPECT_EQ(half.flow_steps, 2 * nucseg::segment::kFlowSteps);  // paths twice as long to the centres
  auto twice = params_at_input_scale(p, 2.0);
  EXPECT_EQ(twice.min_area, 3);
  EXPECT_EQ(twice.seed_distance, 2);
  EXPECT_EQ(twice.flow_steps, nucseg::segment::kFlowSteps / 2);
  EXPECT_EQ(twice.core_seed_area, 8);  // 7.5 rounded
  EXPECT_EQ(twice.interior_reach, 3);
  EXPECT_EQ(params_at_input_scale(p, 20.0).interior_reach, 1);  // 0.3 would round to 0: on stays on
  EXPECT_EQ(params_at_input_scale(p, 10.0).seed_distance, 1);
  EXPECT_EQ(params_at_input_scale(p, 10.0).core_seed_area, 1);  // on stays on
  p.core_seed_area = 0;
  p.interior_reach = 0;
  EXPECT_EQ(params_at_input_scale(p, 0.5).core_seed_area, 0);  // off stays off
  EXPECT_EQ(params_at_input_scale(p, 0.5).interior_reach, 0);
  EXPECT_EQ(scaled_size({100, 81}, 0.5), cv::Size(50, 41));
}

TEST(Magnification, ResizeUsesAreaDownAndLinearUp) {
  cv::Mat stripes(4, 4, CV_32F);
  for (int c = 0; c < 4; ++c) stripes.col(c).setTo(c % 2);
  cv::Mat down = resize_by(stripes, 0.5);
  ASSERT_EQ(down.size(), cv::Size(2, 2));
  EXPECT_FLOAT_EQ(down.at<float>(0, 0), 0.5f);  // averaged, not sampled
  auto up = resize_planes({down}, {4, 4});
  EXPECT_FLOAT_EQ(up[0].at<float>(1, 1), 0.5f);
}

}  // namespace
