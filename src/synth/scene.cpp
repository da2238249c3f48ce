// Scene layout: the placement of isolated nuclei, of clusters of touching nuclei and of
// nuclei lying partly on top of one another, and of unlabelled debris. Placement uses a uniform
// grid of buckets so that an 8192x8192 image with tens of thousands of nuclei is placed in
// well under a second.
#include "scene.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"
#include "random.hpp"
#include "shapes.hpp"

namespace nucseg::synth::detail {

Style parse_style(const std::string& name) {
  if (name == "fluorescence") return Style::fluorescence;
  if (name == "brightfield") return Style::brightfield;
  if (name == "histology") return Style::histology;
  if (name == "ihc") return Style::ihc;
  if (name == "phase") return Style::phase;
  throw_config("synth.style",
               "unknown style \"" + name + "\" (allowed: fluorescence, brightfield, histology, ihc, phase, mixed)");
}

const char* style_name(Style style) {
  switch (style) {
    case Style::fluorescence: return "fluorescence";
    case Style::brightfield: return "brightfield";
    case Style::histology: return "histology";
    case Style::ihc: return "ihc";
    case Style::phase: return "phase";
  }
  return "fluorescence";
}

namespace {

constexpr float kPi = 3.14159265f;
constexpr float kGap = 2.0f;  // least gap (px) between nuclei that are not meant to touch

float f(double v) { return static_cast<float>(v); }

// Radius of the ellipse of `n` along the unit direction (dx, dy), without the harmonics.
float ellipse_radius(const Nucleus& n, float dx, float dy) {
  float u = (dx * n.cos_t + dy * n.sin_t) / n.a;
  float v = (-dx * n.sin_t + dy * n.cos_t) / n.b;
  return 1.0f / std::sqrt(u * u + v * v);
}

float mean_radius(const Nucleus& n) { return std::sqrt(n.a * n.b); }

// How an image is populated: how crowded, how clustered, how much occlusion.
struct Crowding {
  double coverage = 0.15;        // share of the image covered by nuclei
  double cluster_fraction = 0.5; // share of nuclei in clusters
  int max_cluster = 12;
  double grow = 0.55;            // chance to add one more member (geometric cluster sizes)
  double occlusion = 0;          // chance that a new member lies partly on top of/under its anchor
};

Crowding draw_crowding(Rng& rng, const SynthConfig& config, const Imaging& im) {
  Crowding c;
  const bool crowded = rng.chance(0.25);  // confluent cultures, dense tumour, lymph node
  c.coverage = std::min(0.7, config.density * (crowded ? rng.uniform(0.3, 0.55) : rng.uniform(0.06, 0.28)));
  c.cluster_fraction = std::min(1.0, config.cluster_fraction * (crowded ? 1.6 : rng.uniform(0.6, 1.2)));
  c.max_cluster = crowded ? 40 : 12;
  c.grow = crowded ? 0.9 : 0.55;
  if (rng.chance(crowded ? 0.8 : 0.5)) c.occlusion = crowded ? rng.uniform(0.2, 0.6) : rng.uniform(0.1, 0.5);
  if (im.membrane > 0) {
    // An epithelial sheet: nuclei apart (cell bodies between them), many of them, so that the
    // bodies tile much of the image.
    c.coverage = std::min(0.6, config.density * rng.uniform(0.12, 0.28));
    c.cluster_fraction = std::min(c.cluster_fraction, 0.15);
  }
  return c;
}

class Placement final {
 public:
  Placement(int width, int height, float max_bound)
      : cell_(2 * max_bound + kGap + 1), nx_(static_cast<int>(width / cell_) + 3),
        ny_(static_cast<int>(height / cell_) + 3), cells_(static_cast<size_t>(nx_) * ny_) {}

  // True when `c` keeps a gap to every nucleus of other clusters and does not swallow members
  // of its own cluster. `anchor` (or -1) may lie partly under or over `c` when their z differ:
  // then the lower one must stay mostly visible.
  bool fits(const Nucleus& c, int anchor = -1) const {
    int gx = cell_x(c.cx), gy = cell_y(c.cy);
    for (int y = std::max(0, gy - 1); y <= std::min(ny_ - 1, gy + 1); ++y) {
      for (int x = std::max(0, gx - 1); x <= std::min(nx_ - 1, gx + 1); ++x) {
        for (int i : cells_[static_cast<size_t>(y) * nx_ + x]) {
          const Nucleus& o = nuclei[static_cast<size_t>(i)];
          float dx = o.cx - c.cx, dy = o.cy - c.cy;
          float d = std::sqrt(dx * dx + dy * dy);
          if (d < 1e-3f) return false;
          if (c.cluster >= 0 && o.cluster == c.cluster) {
            float rc = mean_radius(c), ro = mean_radius(o);
            if (i == anchor && o.z != c.z) {
              float upper = c.z > o.z ? rc : ro, lower = c.z > o.z ? ro : rc;
              if (d < 0.45f * (rc + ro) || d < upper - 0.5f * lower) return false;
            } else if (d < 0.62f * (rc + ro)) {
              return false;
            }
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

// Clusters: each grows from a seed nucleus by attaching new nuclei that overlap a member. At
// equal z the label split by normalised radius makes them share a border (pressed together);
// with occlusion a new member lies partly on top of or under its anchor.
long place_clusters(Rng& rng, const ShapeModel& m, const Crowding& crowd, long wanted, long attempts, int width,
                    int height, Placement& place) {
  long clustered = 0;
  int cluster_id = 0;
  for (long attempt = 0; clustered < wanted && attempt < attempts; ++attempt) {
    int size = 2;
    while (size < crowd.max_cluster && rng.chance(crowd.grow)) ++size;
    float margin = 0.3f * static_cast<float>(m.typical_r);
    Nucleus first = draw_nucleus(rng, m, f(rng.uniform(-margin, width + margin)), f(rng.uniform(-margin, height + margin)));
    first.cluster = cluster_id;
    if (!place.fits(first)) continue;
    float cluster_gain = f(std::exp(0.25 * rng.normal()));
    first.intensity *= cluster_gain;
    std::vector<int> members{static_cast<int>(place.nuclei.size())};
    place.add(first);
    for (int tries = 0; static_cast<int>(members.size()) < size && tries < 12 * size; ++tries) {
      const int anchor_index = members[static_cast<size_t>(rng.integer(0, static_cast<int>(members.size()) - 1))];
      const Nucleus& anchor = place.nuclei[static_cast<size_t>(anchor_index)];
      float ang = f(rng.uniform(0, 2 * kPi));
      float dx = std::cos(ang), dy = std::sin(ang);
      Nucleus c = draw_nucleus(rng, m, 0, 0);
      const bool occlude = rng.chance(crowd.occlusion);
      float d = (ellipse_radius(anchor, dx, dy) + ellipse_radius(c, dx, dy)) *
                f(occlude ? rng.uniform(0.45, 0.75) : rng.uniform(0.72, 0.92));
      c.cx = anchor.cx + d * dx;
      c.cy = anchor.cy + d * dy;
      c.cluster = cluster_id;
      c.z = occlude ? anchor.z + (rng.chance(0.5) ? 1 : -1) : anchor.z;
      // Neighbours in a cluster look alike, which is what makes them hard to split.
      c.intensity = 0.5f * c.intensity * cluster_gain + 0.5f * place.nuclei[static_cast<size_t>(members[0])].intensity;
      if (!place.fits(c, anchor_index)) continue;
      members.push_back(static_cast<int>(place.nuclei.size()));
      place.add(c);
    }
    clustered += static_cast<long>(members.size());
    ++cluster_id;
  }
  return clustered;
}

// Unlabelled matter, a classic source of false positives: specks and blobs, fibres (lint,
// collagen), out-of-focus junk.
void place_debris(Rng& rng, const ShapeModel& m, long nuclei, Scene& scene) {
  const double w = scene.width, h = scene.height;
  const double area_units = w * h / (384.0 * 384.0);
  long blobs = std::lround(static_cast<double>(nuclei) * rng.uniform(0.0, 0.35)) + rng.integer(0, 3);
  for (long i = 0; i < blobs; ++i) {
    Debris d;
    d.cx = f(rng.uniform(0, w));
    d.cy = f(rng.uniform(0, h));
    d.r = f(rng.chance(0.8) ? rng.uniform(0.7, 2.5) : rng.uniform(2.5, 0.5 * m.min_r + 2.5));
    d.intensity = f(rng.uniform(0.3, 1.3));
    scene.debris.push_back(d);
  }
  long fibres = rng.chance(0.2) ? std::lround(area_units * rng.integer(1, 3)) : 0;
  for (long i = 0; i < fibres; ++i) {
    Debris d;
    d.kind = DebrisKind::fibre;
    d.cx = f(rng.uniform(0, w));
    d.cy = f(rng.uniform(0, h));
    double len = rng.uniform(20, 0.6 * std::min(w, h) + 20), ang = rng.uniform(0, 2 * kPi);
    d.x2 = d.cx + f(len * std::cos(ang));
    d.y2 = d.cy + f(len * std::sin(ang));
    double sway = rng.uniform(-0.4, 0.4) * len;  // control point off the chord: a curved fibre
    d.x1 = 0.5f * (d.cx + d.x2) - f(sway * std::sin(ang));
    d.y1 = 0.5f * (d.cy + d.y2) + f(sway * std::cos(ang));
    d.r = f(rng.uniform(0.5, 1.5));
    d.intensity = f(rng.uniform(0.3, 1.0));
    scene.debris.push_back(d);
  }
  long junk = rng.chance(0.3) ? std::lround(area_units * rng.integer(1, 5)) : 0;
  for (long i = 0; i < junk; ++i) {
    Debris d;
    d.kind = DebrisKind::junk;
    d.cx = f(rng.uniform(0, w));
    d.cy = f(rng.uniform(0, h));
    d.r = f(m.typical_r * rng.uniform(1.2, 3.0));  // larger and fainter than a defocused nucleus
    d.intensity = f(rng.uniform(0.1, 0.35));
    scene.debris.push_back(d);
  }
}

}  // namespace

Scene make_scene(const SynthConfig& config, uint64_t seed, int width, int height, Style style) {
  Rng rng(seed);
  Scene scene;
  scene.width = width;
  scene.height = height;
  scene.min_area = std::max(8, static_cast<int>(0.2 * kPi * config.min_radius * config.min_radius));
  scene.imaging = draw_imaging(rng, style, width, height);
  const ShapeModel m = draw_shape_model(rng, config, scene.imaging);
  // Small nuclei in pixels mean a low magnification, where the PSF covers fewer pixels too:
  // keep the blur below about half the smaller typical radius so nuclei stay resolvable.
  Imaging& im = scene.imaging;
  const float small_r = static_cast<float>(std::min(m.typical_r, m.typical_r2));
  im.blur_sigma = std::min(im.blur_sigma, std::max(0.6f, 0.4f * small_r));
  if (im.blur_sigma2 > 0) im.blur_sigma2 = std::min(im.blur_sigma2, std::max(im.blur_sigma, 0.6f * small_r));
  im.defocus_sigma = std::min(im.defocus_sigma, std::max(1.0f, 0.8f * small_r));
  const Crowding crowd = draw_crowding(rng, config, im);

  double mean_sq = (1 - m.second_fraction) * m.typical_r * m.typical_r + m.second_fraction * m.typical_r2 * m.typical_r2;
  double mean_area = kPi * mean_sq * std::exp(2 * m.size_spread * m.size_spread);
  long target = std::max(1L, std::lround(crowd.coverage * width * height / mean_area));
  long clustered_target = std::lround(static_cast<double>(target) * crowd.cluster_fraction);

  Placement place(width, height, m.max_bound);
  long clustered = place_clusters(rng, m, crowd, clustered_target, 20 * target + 20, width, height, place);
  long isolated_target = target - clustered;
  long isolated = 0;
  for (long attempt = 0; isolated < isolated_target && attempt < 30 * target + 30; ++attempt) {
    float margin = 0.5f * static_cast<float>(m.typical_r);
    Nucleus n = draw_nucleus(rng, m, f(rng.uniform(-margin, width + margin)), f(rng.uniform(-margin, height + margin)));
    if (!place.fits(n)) continue;
    place.add(n);
    ++isolated;
  }
  scene.nuclei = std::move(place.nuclei);
  place_debris(rng, m, target, scene);
  return scene;
}

}  // namespace nucseg::synth::detail
