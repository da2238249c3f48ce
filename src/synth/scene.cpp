// Scene layout: imaging parameters per style and the placement of isolated and clustered
// nuclei. Placement uses a uniform grid of buckets so that an 8192x8192 image with tens of
// thousands of nuclei is placed in well under a second.
#include "scene.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"
#include "random.hpp"

namespace nucseg::synth::detail {

Style parse_style(const std::string& name) {
  if (name == "fluorescence") return Style::fluorescence;
  if (name == "brightfield") return Style::brightfield;
  if (name == "histology") return Style::histology;
  throw_config("synth.style", "unknown style \"" + name + "\" (allowed: fluorescence, brightfield, histology, mixed)");
}

const char* style_name(Style style) {
  switch (style) {
    case Style::fluorescence: return "fluorescence";
    case Style::brightfield: return "brightfield";
    case Style::histology: return "histology";
  }
  return "fluorescence";
}

namespace {

constexpr float kPi = 3.14159265f;
constexpr float kMaxElongation = 3.0f;
constexpr float kMaxHarmonicSum = 0.3f;
constexpr float kGap = 2.0f;  // least gap (px) between nuclei that are not meant to touch

Imaging draw_imaging(Rng& rng, Style style, int width, int height) {
  Imaging im;
  im.style = style;
  im.noise_seed = rng.next();
  // Illumination varies over about one image side: a gradient more than a pattern.
  float side = static_cast<float>(std::max(width, height));
  im.illum_ax = static_cast<float>(rng.uniform(0.0, 0.3));
  im.illum_fx = static_cast<float>(2 * kPi / (side * rng.uniform(1.0, 3.0)));
  im.illum_px = static_cast<float>(rng.uniform(0, 2 * kPi));
  im.illum_ay = static_cast<float>(rng.uniform(0.0, 0.3));
  im.illum_fy = static_cast<float>(2 * kPi / (side * rng.uniform(1.0, 3.0)));
  im.illum_py = static_cast<float>(rng.uniform(0, 2 * kPi));
  switch (style) {
    case Style::fluorescence:
      im.background = static_cast<float>(rng.uniform(0.01, 0.08));
      im.signal = static_cast<float>(rng.uniform(0.25, 0.8));
      im.blur_sigma = static_cast<float>(rng.uniform(0.7, 1.8));
      im.read_noise = static_cast<float>(rng.uniform(0.004, 0.03));
      im.shot_noise = static_cast<float>(rng.uniform(0.001, 0.012));
      im.offset_gx = static_cast<float>(rng.uniform(-0.06, 0.06) / side);
      im.offset_gy = static_cast<float>(rng.uniform(-0.06, 0.06) / side);
      break;
    case Style::brightfield: {
      im.background = static_cast<float>(rng.uniform(0.04, 0.15));
      im.signal = static_cast<float>(rng.uniform(0.35, 0.9));
      im.cytoplasm = static_cast<float>(rng.uniform(0.03, 0.15));
      im.blur_sigma = static_cast<float>(rng.uniform(0.7, 1.5));
      im.read_noise = static_cast<float>(rng.uniform(0.005, 0.025));
      im.shot_noise = static_cast<float>(rng.uniform(0.001, 0.006));
      // Grey, or the purple/brown of a light stain.
      if (rng.chance(0.5)) {
        im.tint = {1.0f, 1.0f, 1.0f};
      } else {
        im.tint = {static_cast<float>(rng.uniform(0.6, 0.9)), static_cast<float>(rng.uniform(0.95, 1.25)),
                   static_cast<float>(rng.uniform(0.4, 0.7))};
      }
      break;
    }
    case Style::histology:
      im.background = static_cast<float>(rng.uniform(0.03, 0.12));
      im.signal = static_cast<float>(rng.uniform(0.8, 1.5));
      im.cytoplasm = static_cast<float>(rng.uniform(0.06, 0.22));
      im.stroma = static_cast<float>(rng.uniform(0.15, 0.45));
      im.blur_sigma = static_cast<float>(rng.uniform(0.6, 1.5));
      im.read_noise = static_cast<float>(rng.uniform(0.006, 0.02));
      im.shot_noise = static_cast<float>(rng.uniform(0.001, 0.005));
      // Ruifrok & Johnston optical densities of haematoxylin and eosin, jittered per slide.
      im.tint = {static_cast<float>(0.65 * rng.uniform(0.85, 1.15)), static_cast<float>(0.70 * rng.uniform(0.85, 1.15)),
                 static_cast<float>(0.29 * rng.uniform(0.8, 1.2))};
      im.tint2 = {static_cast<float>(0.07 * rng.uniform(0.6, 1.6)), static_cast<float>(0.99 * rng.uniform(0.85, 1.1)),
                  static_cast<float>(0.11 * rng.uniform(0.7, 1.4))};
      break;
  }
  return im;
}

// Shape and size drawn around the image's typical radius: nuclei of one image look alike,
// images differ (like different magnifications and cell types in Kaggle's data).
struct ShapeModel {
  double min_r, max_r, typical_r, size_spread, elong_sd, irregularity;
  double brightness_sd, dim_fraction, texture_lo, texture_hi, edge_lo, edge_hi;
};

Nucleus draw_nucleus(Rng& rng, const ShapeModel& m, float cx, float cy) {
  Nucleus n;
  n.cx = cx;
  n.cy = cy;
  double r = std::clamp(m.typical_r * std::exp(m.size_spread * rng.normal()), m.min_r, m.max_r);
  double e = 1.0 + std::min<double>(kMaxElongation - 1.0, std::abs(rng.normal()) * m.elong_sd);
  n.a = static_cast<float>(r * std::sqrt(e));
  n.b = static_cast<float>(r / std::sqrt(e));
  double t = rng.uniform(0, 2 * kPi);
  n.cos_t = static_cast<float>(std::cos(t));
  n.sin_t = static_cast<float>(std::sin(t));
  float sum = 0;
  for (int k = 0; k < kHarmonics; ++k) {
    double amp = m.irregularity * 0.075 / std::pow(k + 1.0, 0.9) * std::abs(rng.normal());
    double ph = rng.uniform(0, 2 * kPi);
    n.harm[2 * k] = static_cast<float>(amp * std::cos(ph));
    n.harm[2 * k + 1] = static_cast<float>(amp * std::sin(ph));
    sum += static_cast<float>(amp);
  }
  if (sum > kMaxHarmonicSum) {  // keeps the outline star-shaped and free of spikes
    for (auto& h : n.harm) h *= kMaxHarmonicSum / sum;
    sum = kMaxHarmonicSum;
  }
  n.bound = std::max(n.a, n.b) * (1.0f + sum) + 1.0f;
  n.intensity = static_cast<float>(std::exp(m.brightness_sd * rng.normal()));
  if (rng.chance(m.dim_fraction)) n.intensity *= static_cast<float>(rng.uniform(0.2, 0.5));
  n.texture = static_cast<float>(rng.uniform(m.texture_lo, m.texture_hi));
  n.edge = static_cast<float>(rng.uniform(m.edge_lo, m.edge_hi));
  n.tex_scale = static_cast<float>(rng.uniform(1.2, 3.0));
  n.tex_seed = rng.next();
  return n;
}

// Radius of the ellipse of `n` along the unit direction (dx, dy), without the harmonics.
float ellipse_radius(const Nucleus& n, float dx, float dy) {
  float u = (dx * n.cos_t + dy * n.sin_t) / n.a;
  float v = (-dx * n.sin_t + dy * n.cos_t) / n.b;
  return 1.0f / std::sqrt(u * u + v * v);
}

class Placement final {
 public:
  Placement(int width, int height, float max_bound)
      : cell_(2 * max_bound + kGap + 1), nx_(static_cast<int>(width / cell_) + 3),
        ny_(static_cast<int>(height / cell_) + 3), cells_(static_cast<size_t>(nx_) * ny_) {}

  // True when `c` keeps a gap to every nucleus of other clusters and does not swallow
  // members of its own cluster.
  bool fits(const Nucleus& c) const {
    int gx = cell_x(c.cx), gy = cell_y(c.cy);
    for (int y = std::max(0, gy - 1); y <= std::min(ny_ - 1, gy + 1); ++y) {
      for (int x = std::max(0, gx - 1); x <= std::min(nx_ - 1, gx + 1); ++x) {
        for (int i : cells_[static_cast<size_t>(y) * nx_ + x]) {
          const Nucleus& o = nuclei[i];
          float dx = o.cx - c.cx, dy = o.cy - c.cy;
          float d = std::sqrt(dx * dx + dy * dy);
          if (d < 1e-3f) return false;
          if (c.cluster >= 0 && o.cluster == c.cluster) {
            if (d < 0.62f * (std::sqrt(c.a * c.b) + std::sqrt(o.a * o.b))) return false;
            continue;
          }
          float reach = ellipse_radius(c, dx / d, dy / d) * (c.bound / std::max(c.a, c.b)) +
                        ellipse_radius(o, dx / d, dy / d) * (o.bound / std::max(o.a, o.b));
          if (d < reach + kGap) return false;
        }
      }
    }
    return true;
  }

  void add(const Nucleus& n) {
    cells_[static_cast<size_t>(cell_y(n.cy)) * nx_ + cell_x(n.cx)].push_back(static_cast<int>(nuclei.size()));
    nuclei.push_back(n);
  }

  std::vector<Nucleus> nuclei;

 private:
  // Centres may lie up to one cell outside the image (nuclei cut by the border).
  int cell_x(float x) const { return std::clamp(static_cast<int>(x / cell_) + 1, 0, nx_ - 1); }
  int cell_y(float y) const { return std::clamp(static_cast<int>(y / cell_) + 1, 0, ny_ - 1); }
  float cell_;
  int nx_, ny_;
  std::vector<std::vector<int>> cells_;
};

}  // namespace

Scene make_scene(const SynthConfig& config, uint64_t seed, int width, int height, Style style) {
  Rng rng(seed);
  Scene scene;
  scene.width = width;
  scene.height = height;
  scene.min_area = std::max(8, static_cast<int>(0.2 * kPi * config.min_radius * config.min_radius));
  scene.imaging = draw_imaging(rng, style, width, height);

  ShapeModel m{};
  m.min_r = config.min_radius;
  m.max_r = config.max_radius;
  m.typical_r = rng.log_uniform(config.min_radius, config.max_radius);
  m.size_spread = rng.uniform(0.08, 0.22);
  m.elong_sd = rng.uniform(0.15, 0.45);
  m.irregularity = rng.uniform(0.4, 1.4);
  m.brightness_sd = rng.uniform(0.12, 0.4);
  m.dim_fraction = rng.uniform(0.0, 0.15);
  m.texture_lo = 0.05;
  m.texture_hi = rng.uniform(0.15, 0.4);
  m.edge_lo = 0.05;
  m.edge_hi = rng.uniform(0.2, 0.6);

  // Coverage: share of the image that is nucleus; Kaggle's images range from sparse to crowded.
  double coverage = std::min(0.6, config.density * rng.uniform(0.08, 0.26));
  double mean_area = kPi * m.typical_r * m.typical_r;
  long target = std::max(1L, std::lround(coverage * width * height / mean_area));
  long clustered_target = std::lround(target * config.cluster_fraction);

  float max_bound = static_cast<float>(config.max_radius * std::sqrt(kMaxElongation) * (1.0 + kMaxHarmonicSum) + 1.0);
  Placement place(width, height, max_bound);
  auto random_centre = [&](float margin) {
    return std::pair<float, float>(static_cast<float>(rng.uniform(-margin, width + margin)),
                                   static_cast<float>(rng.uniform(-margin, height + margin)));
  };

  // Clusters: grow each from a seed nucleus by attaching new nuclei that overlap a member;
  // the label split by normalised radius then makes them share a border.
  long clustered = 0;
  int cluster_id = 0;
  for (long attempt = 0; clustered < clustered_target && attempt < 20 * target + 20; ++attempt) {
    int size = 2;
    while (size < 12 && rng.chance(0.55)) ++size;
    auto [cx, cy] = random_centre(0.3f * static_cast<float>(m.typical_r));
    Nucleus first = draw_nucleus(rng, m, cx, cy);
    first.cluster = cluster_id;
    if (!place.fits(first)) continue;
    float cluster_gain = static_cast<float>(std::exp(0.25 * rng.normal()));
    first.intensity *= cluster_gain;
    std::vector<int> members{static_cast<int>(place.nuclei.size())};
    place.add(first);
    for (int tries = 0; static_cast<int>(members.size()) < size && tries < 12 * size; ++tries) {
      const Nucleus& anchor = place.nuclei[members[static_cast<size_t>(rng.integer(0, static_cast<int>(members.size()) - 1))]];
      float ang = static_cast<float>(rng.uniform(0, 2 * kPi));
      float dx = std::cos(ang), dy = std::sin(ang);
      Nucleus c = draw_nucleus(rng, m, 0, 0);
      float d = (ellipse_radius(anchor, dx, dy) + ellipse_radius(c, dx, dy)) * static_cast<float>(rng.uniform(0.72, 0.92));
      c.cx = anchor.cx + d * dx;
      c.cy = anchor.cy + d * dy;
      c.cluster = cluster_id;
      // Neighbours in a cluster look alike, which is what makes them hard to split.
      c.intensity = 0.5f * c.intensity * cluster_gain + 0.5f * place.nuclei[members[0]].intensity;
      if (!place.fits(c)) continue;
      members.push_back(static_cast<int>(place.nuclei.size()));
      place.add(c);
    }
    clustered += static_cast<long>(members.size());
    ++cluster_id;
  }
  long isolated_target = target - clustered;
  long isolated = 0;
  for (long attempt = 0; isolated < isolated_target && attempt < 30 * target + 30; ++attempt) {
    auto [cx, cy] = random_centre(0.5f * static_cast<float>(m.typical_r));
    Nucleus n = draw_nucleus(rng, m, cx, cy);
    if (!place.fits(n)) continue;
    place.add(n);
    ++isolated;
  }
  scene.nuclei = std::move(place.nuclei);

  // Debris: unlabelled specks and blobs, a classic source of false positives.
  long debris = std::lround(target * rng.uniform(0.0, 0.35)) + rng.integer(0, 3);
  scene.debris.reserve(static_cast<size_t>(debris));
  for (long i = 0; i < debris; ++i) {
    Debris d{};
    d.cx = static_cast<float>(rng.uniform(0, width));
    d.cy = static_cast<float>(rng.uniform(0, height));
    d.r = static_cast<float>(rng.chance(0.8) ? rng.uniform(0.7, 2.5) : rng.uniform(2.5, 0.5 * config.min_radius + 2.5));
    d.intensity = static_cast<float>(rng.uniform(0.3, 1.3));
    scene.debris.push_back(d);
  }
  return scene;
}

}  // namespace nucseg::synth::detail
