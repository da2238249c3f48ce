// Shared by the driver's single-rank tests (driver_input_test.cpp, driver_auto_test.cpp): the real
// image preparation and instance step around a fake pointwise network, and readers of what the
// driver writes.
#pragma once

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/infer/driver.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/prepare.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/segment/measure.hpp"
#include "test_util.hpp"

namespace nucseg::testing::driver {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;

inline int g_argc = 0;
inline char** g_argv = nullptr;

// What the fake network saw: tile sides, and whether its three input planes were identical.
struct Seen {
  std::mutex mutex;
  std::set<std::pair<int, int>> tile_sides;
  size_t tiles = 0;
  bool planes_differ = false;
};

// Pointwise: interior where the first input is above 0.5, else background.
inline Stages stages_for(const InputRule& rule, Seen* seen = nullptr) {
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

inline nucseg::Config config_for(const stdfs::path& out) {
  nucseg::Config c;
  c.infer.output = out.string();
  c.infer.tile = 64;
  c.infer.overlap = 16;
  c.infer.batch = 2;
  c.infer.overwrite = true;
  c.infer.diameter = {false, 0.0};  // native scale unless a test asks for rescaling
  return c;
}

inline RunReport run(const nucseg::Config& config, const stdfs::path& in, const Stages& stages) {
  nucseg::dist::World world(&g_argc, &g_argv);
  return run_inference(config.infer, world, discover_inputs(in.string()), stages, {}, 0.0);
}

inline cv::Mat read_labels(const stdfs::path& out, const std::string& id) {
  nucseg::h5::File f((out / "images" / (id + ".h5")).string(), nucseg::h5::File::Mode::read);
  auto shape = f.shape("labels");
  auto v = f.read<int32_t>("labels");
  return cv::Mat(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_32S, v.data()).clone();
}

inline cv::Mat read_class_map(const stdfs::path& out, const std::string& id) {
  nucseg::h5::File f((out / "images" / (id + ".h5")).string(), nucseg::h5::File::Mode::read);
  auto shape = f.shape("class_map");
  auto v = f.read<uint8_t>("class_map");
  return cv::Mat(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_8U, v.data()).clone();
}

inline cv::Mat disks(cv::Size size, int type, double background, double value, const std::vector<cv::Point>& centres,
              int radius) {
  cv::Mat m(size, type, cv::Scalar::all(background));
  for (auto c : centres) cv::circle(m, c, radius, cv::Scalar::all(value), cv::FILLED);
  return m;
}

// A checkpoint's recorded configuration naming only the normalisation.
inline std::string training_config(const std::string& normalize) { return "[data]\nnormalize = \"" + normalize + "\"\n"; }

}  // namespace nucseg::testing::driver
