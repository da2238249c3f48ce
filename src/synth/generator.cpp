// Public entry points of the generator: per-image seeding, style and size draws, and the
// tile-by-tile rendering of large images.
#include "nucseg/synth/generator.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"
#include "random.hpp"
#include "scene.hpp"

namespace nucseg::synth {
namespace {

using detail::mix64;

constexpr uint64_t kBigStream = 0xB16B16B16ULL;
constexpr int kBigTile = 1024;

void check(const SynthConfig& c) {
  if (c.min_side < 16 || c.min_side > c.max_side)
    throw_config("synth.min_side", "synth.min_side must be >= 16 and <= synth.max_side");
  if (c.min_radius <= 0 || c.min_radius > c.max_radius)
    throw_config("synth.min_radius", "synth.min_radius must be > 0 and <= synth.max_radius");
}

// One independent stream per (seed, index): images never depend on one another, so ranks and
// threads can generate any subset in any order.
uint64_t image_seed(const SynthConfig& c, uint64_t index) {
  return mix64(mix64(static_cast<uint64_t>(c.seed) * 0x9E3779B97F4A7C15ULL + 0x5EEDULL) ^ (index * 0xD1B54A32D192ED03ULL));
}

// The mix of "mixed": fluorescence first (most of Kaggle's stage1 and of user archives), then
// the transmitted-light styles, so that every style is met often in a few hundred images.
detail::Style draw_style(const SynthConfig& c, uint64_t stream) {
  if (c.style != "mixed") return detail::parse_style(c.style);
  double u = detail::unit_float(mix64(stream ^ 0x57F1E5ULL));
  if (u < 0.45) return detail::Style::fluorescence;
  if (u < 0.58) return detail::Style::brightfield;
  if (u < 0.75) return detail::Style::histology;
  if (u < 0.85) return detail::Style::ihc;
  return detail::Style::phase;
}

SynthSample render(const detail::Scene& scene, const std::string& id, int tile) {
  SynthSample out;
  out.id = id;
  out.style = detail::style_name(scene.imaging.style);
  try {
    std::vector<int> owner;
    out.labels = detail::rasterize_labels(scene, owner);
    out.rgba.create(scene.height, scene.width, CV_8UC4);
    for (int y = 0; y < scene.height; y += tile)
      for (int x = 0; x < scene.width; x += tile)
        detail::render_region(scene, out.labels, owner,
                              cv::Rect(x, y, std::min(tile, scene.width - x), std::min(tile, scene.height - y)), out.rgba);
  } catch (const cv::Exception& e) {
    throw_runtime("OpenCV failed while generating " + id + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw_runtime("out of memory while generating " + id + " (" + std::to_string(scene.width) + "x" +
                  std::to_string(scene.height) + ")");
  }
  return out;
}

}  // namespace

std::string sample_id(const SynthConfig& config, int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "synth-%d-%06d", config.seed, index);
  return buf;
}

std::string big_sample_id(const SynthConfig& config, int side) {
  return "synth-" + std::to_string(config.seed) + "-big-" + std::to_string(side);
}

std::string sample_style(const SynthConfig& config, int index) {
  return detail::style_name(draw_style(config, image_seed(config, static_cast<uint64_t>(index))));
}

SynthSample generate_sample(const SynthConfig& config, int index) {
  check(config);
  if (index < 0) throw_runtime("synthetic image index must be >= 0, got " + std::to_string(index));
  const uint64_t seed = image_seed(config, static_cast<uint64_t>(index));
  detail::Rng rng(seed);
  int w = rng.integer(config.min_side, config.max_side);
  int h = rng.chance(0.5) ? w : rng.integer(config.min_side, config.max_side);
  detail::Scene scene = detail::make_scene(config, rng.next(), w, h, draw_style(config, seed));
  return render(scene, sample_id(config, index), std::max(w, h));
}

SynthSample generate_big_sample(const SynthConfig& config, int side) {
  check(config);
  if (side < 16) throw_config("synth.big_image", "the big image side must be >= 16, got " + std::to_string(side));
  const uint64_t seed = mix64(static_cast<uint64_t>(config.seed) ^ kBigStream) ^ static_cast<uint64_t>(side);
  detail::Scene scene = detail::make_scene(config, mix64(seed), side, side, draw_style(config, seed));
  return render(scene, big_sample_id(config, side), kBigTile);
}

}  // namespace nucseg::synth
