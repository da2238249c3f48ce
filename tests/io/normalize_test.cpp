// The intensity normalisers: percentile against a sorted reference, range, fixed, and the
// acceptance case: 12-bit and 16-bit versions of an 8-bit image normalise alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/io/normalize.hpp"

using namespace nucseg::io;

namespace {

// numpy.percentile (linear) by sorting: the reference the histogram version must match.
double sorted_percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  auto k = static_cast<size_t>(std::floor(pos));
  if (k + 1 >= v.size()) return v[k];
  return v[k] + (pos - static_cast<double>(k)) * (v[k + 1] - v[k]);
}

std::vector<double> channel_values(const cv::Mat& m, int c) {
  cv::Mat one;
  cv::extractChannel(m, one, c);
  one.convertTo(one, CV_64F);
  return std::vector<double>(one.begin<double>(), one.end<double>());
}

// A fluorescence-like 8-bit image: dim noisy background, bright blobs, a few saturated pixels.
cv::Mat microscopy_8bit(uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat m(96, 128, CV_8UC1);
  rng.fill(m, cv::RNG::NORMAL, 20, 6);
  for (int k = 0; k < 14; ++k)
    cv::circle(m, {rng.uniform(8, 120), rng.uniform(8, 88)}, rng.uniform(4, 9), cv::Scalar(rng.uniform(90, 200)),
               cv::FILLED);
  for (int k = 0; k < 6; ++k) m.at<uint8_t>(rng.uniform(0, 96), rng.uniform(0, 128)) = 255;
  return m;
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  double d = 0;
  cv::minMaxLoc(cv::abs(a.reshape(1) - b.reshape(1)), nullptr, &d);
  return d;
}

}  // namespace

TEST(Normalize, EffectiveBitDepthIsTheBitsOfTheLargestValue) {
  auto depth_of = [](int type, double v) {
    cv::Mat m(4, 4, type, cv::Scalar::all(0));
    m.reshape(1).at<uint16_t>(2, 3) = static_cast<uint16_t>(v);  // one sample of one channel
    return effective_bit_depth(m);
  };
  EXPECT_EQ(depth_of(CV_16UC1, 4095), 12);
  EXPECT_EQ(depth_of(CV_16UC1, 4096), 13);
  EXPECT_EQ(depth_of(CV_16UC1, 65535), 16);
  EXPECT_EQ(depth_of(CV_16UC3, 255), 8);
  EXPECT_EQ(depth_of(CV_16UC1, 256), 9);
  EXPECT_EQ(depth_of(CV_16UC1, 0), 1);
  EXPECT_EQ(effective_bit_depth(cv::Mat(3, 3, CV_8UC1, cv::Scalar(200))), 8);
  EXPECT_EQ(effective_bit_depth(cv::Mat(3, 3, CV_32SC1, cv::Scalar(70000))), 17);
}

TEST(Normalize, PercentilesMatchSortingPerChannel) {
  for (int depth : {CV_8U, CV_16U}) {
    cv::Mat m(57, 43, CV_MAKETYPE(depth, 3));
    cv::RNG rng(3);
    // Every channel spans over 5% of the widest one's range (narrower ones are weak channels,
    // filled from the others: OneColourImagesReachTheNetworkAsTheirGreyForm).
    const bool byte = depth == CV_8U;
    // No value at the format's ceiling (255 / 65535): those are left out (SaturatedPixels...).
    rng.fill(m, cv::RNG::UNIFORM, cv::Scalar(0, 100, 7), cv::Scalar(byte ? 255 : 4096, byte ? 180 : 1000, byte ? 40 : 600));
    NormalizeSpec spec;  // percentile 1 .. 99.8
    auto ranges = normalize_ranges(m, spec);
    ASSERT_EQ(ranges.size(), 3u);
    for (int c = 0; c < 3; ++c) {
      auto values = channel_values(m, c);
      EXPECT_DOUBLE_EQ(ranges[c].lo, sorted_percentile(values, 1.0)) << "channel " << c;
      EXPECT_DOUBLE_EQ(ranges[c].hi, sorted_percentile(values, 99.8)) << "channel " << c;
    }
    cv::Mat out = normalize_image(m, spec);
    ASSERT_EQ(out.type(), CV_32FC3);
    for (int c = 0; c < 3; ++c) {
      double x = m.depth() == CV_8U ? m.at<cv::Vec3b>(5, 6)[c] : m.at<cv::Vec3w>(5, 6)[c];
      EXPECT_NEAR(out.at<cv::Vec3f>(5, 6)[c], (x - ranges[c].lo) / (ranges[c].hi - ranges[c].lo), 1e-6);
    }
  }
}

TEST(Normalize, TwelveAndSixteenBitDataNormaliseLikeTheirEightBitOriginal) {
  cv::Mat eight = microscopy_8bit(11);
  cv::Mat twelve, sixteen;
  eight.convertTo(twelve, CV_16U, 4095.0 / 255.0);  // 0..4095 in a 16-bit container, rounded
  eight.convertTo(sixteen, CV_16U, 257.0);          // full 16-bit range
  NormalizeSpec percentile;
  cv::Mat a = normalize_image(eight, percentile);
  EXPECT_LT(max_abs_diff(a, normalize_image(twelve, percentile)), 2e-3);
  EXPECT_LT(max_abs_diff(a, normalize_image(sixteen, percentile)), 1e-5);

  // range divides by the effective bit depth's range: 12-bit data by 4095, not 65535.
  NormalizeSpec range;
  range.kind = NormalizeKind::range;
  cv::Mat r8 = normalize_image(eight, range);
  EXPECT_LT(max_abs_diff(r8, normalize_image(twelve, range)), 2e-4);
  EXPECT_LT(max_abs_diff(r8, normalize_image(sixteen, range)), 1e-6);
  EXPECT_FLOAT_EQ(r8.at<float>(0, 0), eight.at<uint8_t>(0, 0) / 255.0f);
  range.bits = 16;  // fixed bit depth: today's division by 65535
  EXPECT_FLOAT_EQ(normalize_image(twelve, range).at<float>(0, 0), twelve.at<uint16_t>(0, 0) / 65535.0f);
}

TEST(Normalize, FixedMapsMinAndMaxToZeroAndOne) {
  cv::Mat m = (cv::Mat_<uint16_t>(1, 4) << 100, 2050, 4000, 5000);
  NormalizeSpec fixed;
  fixed.kind = NormalizeKind::fixed;
  fixed.min = 100;
  fixed.max = 4000;
  cv::Mat out = normalize_image(m, fixed);
  EXPECT_FLOAT_EQ(out.at<float>(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(out.at<float>(0, 1), 0.5f);
  EXPECT_FLOAT_EQ(out.at<float>(0, 2), 1.0f);
  EXPECT_NEAR(out.at<float>(0, 3), 4900.0 / 3900.0, 1e-6);  // not clipped
  fixed.max = 100;
  EXPECT_THROW(normalize_ranges(m, fixed), nucseg::Error);
}

// A float TIFF read as 16 bits no longer holds the values data.normalize_min/max name.
TEST(Normalize, FixedRefusesImagesWhoseValuesWereMappedOnReading) {
  NormalizeSpec fixed;
  fixed.kind = NormalizeKind::fixed;
  EXPECT_NO_THROW(check_fixed_normalization(fixed, "", "a.tif", "data.normalize"));
  EXPECT_NO_THROW(check_fixed_normalization(NormalizeSpec{}, "32-bit float samples", "a.tif", "data.normalize"));
  try {
    check_fixed_normalization(fixed, "32-bit float samples 0 .. 1 mapped to 0 .. 65535", "a.tif", "infer.normalize");
    ADD_FAILURE() << "fixed normalisation of a mapped image was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_EQ(e.context().file, "a.tif");
    EXPECT_NE(e.message().find("infer.normalize"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("percentile"), std::string::npos) << e.message();
  }
}

TEST(Normalize, FlatAndSparseChannelsDoNotDivideByZero) {
  cv::Mat flat(20, 20, CV_16UC1, cv::Scalar(700));
  cv::Mat out = normalize_image(flat, NormalizeSpec{});
  EXPECT_EQ(cv::countNonZero(out), 0);
  EXPECT_TRUE(cv::checkRange(out));

  cv::Mat sparse(100, 100, CV_8UC1, cv::Scalar(0));  // 3 bright pixels in 10000: p99.8 is 0
  sparse.at<uint8_t>(5, 5) = 200;
  sparse.at<uint8_t>(50, 50) = 100;
  sparse.at<uint8_t>(90, 9) = 50;
  auto ranges = normalize_ranges(sparse, NormalizeSpec{});
  EXPECT_EQ(ranges[0].lo, 0.0);
  EXPECT_EQ(ranges[0].hi, 200.0);  // the maximum instead
  EXPECT_FLOAT_EQ(normalize_image(sparse, NormalizeSpec{}).at<float>(50, 50), 0.5f);
}

TEST(Normalize, SpecsComeFromConfigAndTwoStepsEqualOne) {
  nucseg::DataConfig data;
  auto spec = normalize_spec(data);
  EXPECT_EQ(spec.kind, NormalizeKind::percentile);
  EXPECT_DOUBLE_EQ(spec.low, 1.0);
  EXPECT_DOUBLE_EQ(spec.high, 99.8);
  EXPECT_EQ(describe(spec), "percentile 1 99.8");
  data.normalize_min = 10;
  data.normalize_max = 300;
  EXPECT_EQ(describe(normalize_spec("fixed", data, "infer.normalize")), "fixed 10 300");
  try {
    normalize_spec("", data, "infer.normalize");
    FAIL() << "an unset kind must be resolved by the caller";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.normalize");
  }

  // Ranges from the whole image applied to a tile equal the tile of the normalised image.
  cv::Mat m = microscopy_8bit(5);
  auto ranges = normalize_ranges(m, spec);
  cv::Rect tile(30, 20, 40, 33);
  EXPECT_EQ(max_abs_diff(apply_normalization(m(tile), ranges), normalize_image(m, spec)(tile)), 0.0);
  EXPECT_THROW(apply_normalization(m, {ranges[0], ranges[0]}), nucseg::Error);
}

// A grey fluorescence image exported in one colour (GFP in green, DAPI in blue, the other
// channels empty or only noise) reaches the network as its grey form; channels with a real
// share of the signal (a tinted image, 10% in red) keep their own normalisation.
TEST(Normalize, OneColourImagesReachTheNetworkAsTheirGreyForm) {
  const cv::Mat grey = microscopy_8bit(31);
  const cv::Mat grey_out = normalize_image(grey, NormalizeSpec{});
  const cv::Mat zero(grey.size(), CV_8UC1, cv::Scalar(0));
  cv::RNG rng(5);
  cv::Mat noise(grey.size(), CV_8UC1);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 4);  // 0..3: a camera's or a JPEG's floor, 2% of the signal's range
  for (int colour : {1, 2}) {
    for (const cv::Mat& rest : {zero, noise}) {
      std::vector<cv::Mat> planes{rest, rest, rest};
      planes[static_cast<size_t>(colour)] = grey;
      cv::Mat rgb;
      cv::merge(planes, rgb);
      const cv::Mat out = normalize_image(rgb, NormalizeSpec{});
      for (int c = 0; c < 3; ++c) {
        cv::Mat plane;
        cv::extractChannel(out, plane, c);
        EXPECT_LT(max_abs_diff(plane, grey_out), 1e-6) << "colour " << colour << ", channel " << c;
      }
    }
  }
  // A tinted image: red at a tenth of the signal is normalised on its own, not replaced.
  cv::Mat tenth;
  grey.convertTo(tenth, CV_8U, 0.1);
  cv::Mat tinted, red_out;
  cv::merge(std::vector<cv::Mat>{grey, grey, tenth}, tinted);
  cv::extractChannel(normalize_image(tinted, NormalizeSpec{}), red_out, 2);
  EXPECT_LT(max_abs_diff(red_out, normalize_image(tenth, NormalizeSpec{})), 1e-6);
  EXPECT_GT(max_abs_diff(red_out, grey_out), 0.01);  // and that differs from the grey form
  // Range normalisation maps every channel alike: an empty channel stays 0.
  NormalizeSpec range;
  range.kind = NormalizeKind::range;
  cv::Mat green;
  cv::merge(std::vector<cv::Mat>{zero, grey, zero}, green);
  cv::Mat blue_out;
  cv::extractChannel(normalize_image(green, range), blue_out, 0);
  EXPECT_EQ(cv::countNonZero(blue_out), 0);
}

// A burned-in scale bar or text (white, 0.4% of the image) is no signal level: left out of the
// percentiles, the dim nuclei keep their normalisation. Saturated signal (5%) stays; an image
// that is all ceiling, or nothing but ceiling on black, still normalises.
TEST(Normalize, SaturatedPixelsAndOverlaysAreLeftOutOfThePercentiles) {
  for (int depth : {CV_8U, CV_16U}) {
    cv::Mat dim = microscopy_8bit(41) / 3;  // nuclei at 30..67: a dim fluorescence image
    dim.convertTo(dim, depth, depth == CV_8U ? 1 : 257);
    const double ceiling = depth == CV_8U ? 255 : 65535;
    cv::Mat marked = dim.clone();
    marked(cv::Rect(60, 88, 48, 1)).setTo(ceiling);  // 48 px: 0.4% of 96 x 128
    const auto plain = normalize_ranges(dim, NormalizeSpec{});
    const auto with_bar = normalize_ranges(marked, NormalizeSpec{});
    EXPECT_LT(plain[0].hi, ceiling / 3);
    EXPECT_NEAR(with_bar[0].hi, plain[0].hi, 0.05 * plain[0].hi) << "depth " << depth;
    EXPECT_NEAR(with_bar[0].lo, plain[0].lo, 1.0) << "depth " << depth;
    // Saturated signal (overexposed nuclei, 5% of the image) is no overlay: it stays the top.
    cv::Mat saturated = dim.clone();
    saturated(cv::Rect(10, 10, 25, 25)).setTo(ceiling);
    EXPECT_EQ(normalize_ranges(saturated, NormalizeSpec{})[0].hi, ceiling);
    cv::Mat white(8, 8, depth, cv::Scalar(ceiling));
    EXPECT_EQ(cv::countNonZero(normalize_image(white, NormalizeSpec{})), 0);  // constant: 0
    cv::Mat dots(100, 100, depth, cv::Scalar(0));
    dots(cv::Rect(5, 5, 2, 2)).setTo(ceiling);
    const auto r = normalize_ranges(dots, NormalizeSpec{});
    EXPECT_EQ(r[0].lo, 0.0);
    EXPECT_EQ(r[0].hi, ceiling);  // only ceiling on black: the ceiling is the signal
  }
}
