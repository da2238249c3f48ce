// The planes of one region before the optics: background (flat, mottled, or eosin stroma), cell
// bodies, nuclei with their chromatin and overlaps, and debris.
#include "paint.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "random.hpp"

namespace nucseg::synth::detail {
namespace {

cv::Rect clip(const cv::Rect& r, int w, int h) { return r & cv::Rect(0, 0, w, h); }

// The box around (cx, cy) of half-side `reach`, in plane coordinates, clipped to the planes.
cv::Rect plane_box(const cv::Rect& ext, float cx, float cy, float reach) {
  return clip(cv::Rect(static_cast<int>(std::floor(cx - reach)) - ext.x, static_cast<int>(std::floor(cy - reach)) - ext.y,
                       static_cast<int>(2 * reach) + 3, static_cast<int>(2 * reach) + 3),
              ext.width, ext.height);
}

void paint_background(const Scene& scene, Planes& p) {
  const Imaging& im = scene.imaging;
  const uint64_t seed = im.noise_seed;
  const float ca = std::cos(im.illum_px), sa = std::sin(im.illum_px);  // fibre direction
  for (int y = 0; y < p.ext.height; ++y) {
    float* a = p.a.ptr<float>(y);
    float* b = p.b.empty() ? nullptr : p.b.ptr<float>(y);
    const float gy = static_cast<float>(y + p.ext.y);
    for (int x = 0; x < p.ext.width; ++x) {
      const float gx = static_cast<float>(x + p.ext.x);
      switch (im.style) {
        case Style::fluorescence: a[x] = im.background; break;
        case Style::phase: a[x] = 0.05f * texture_noise(seed + 11, gx, gy, 25.0f); break;
        case Style::brightfield:
        case Style::ihc:
          a[x] = im.background * (1.0f + 0.8f * texture_noise(seed + 11, gx, gy, 18.0f));
          if (b) b[x] = 0;
          break;
        case Style::histology: {
          a[x] = im.background * (1.0f + 0.6f * texture_noise(seed + 11, gx, gy, 14.0f));
          float u = gx * ca + gy * sa, v = -gx * sa + gy * ca;
          // Wavy fibres: the fibre coordinate is bent by a slow noise field.
          float bend = 12.0f * value_noise(seed + 24, gx / 40.0f, gy / 40.0f);
          float fibre = value_noise(seed + 21, u / 30.0f, (v + bend) / 7.0f) * 0.5f +
                        value_noise(seed + 22, gx / 5.0f, gy / 5.0f) * 0.5f;
          // Loose tissue and lumen; the second octave hides the lattice of the first.
          float gaps = 0.7f * value_noise(seed + 23, gx / 70.0f, gy / 70.0f) + 0.3f * value_noise(seed + 25, gx / 23.0f, gy / 23.0f);
          float open = std::clamp((gaps - 0.15f) / 0.2f, 0.1f, 1.0f);
          b[x] = im.stroma * (0.45f + 1.1f * fibre) * open;
          break;
        }
      }
    }
  }
}

// Cell bodies around nuclei: an irregular disc 1.5-2.3 nucleus radii wide. They lower the
// contrast of the nucleus outline and make a global threshold less clean. In ihc a
// membrane-positive cell puts its DAB here, densest at the cell edge.
void paint_cytoplasm(const Scene& scene, Planes& p) {
  const Imaging& im = scene.imaging;
  const bool emits = im.style == Style::fluorescence || im.style == Style::phase;
  const float amount = emits ? im.cytoplasm * im.signal : im.cytoplasm;
  cv::Mat& plane = im.style == Style::histology ? p.b : p.a;
  for (const Nucleus& n : scene.nuclei) {
    const bool dab_halo = n.cyto2 > 0 && im.membrane <= 0;  // membrane stains: paint_membranes' DAB
    if (amount <= 0 && !dab_halo) continue;
    const float reach = 1.5f + 0.8f * unit_float(n.tex_seed);  // cell radius / nucleus radius
    const float reach_max2 = 1.25f * 1.25f * reach * reach, wobble = 1.0f / (2.0f * n.b + 3.0f);
    // Axis-aligned half extents of the ellipse scaled by 1.25 reach.
    const float ex = 1.25f * reach * std::hypot(n.a * n.cos_t, n.b * n.sin_t);
    const float ey = 1.25f * reach * std::hypot(n.a * n.sin_t, n.b * n.cos_t);
    cv::Rect box = clip(cv::Rect(static_cast<int>(std::floor(n.cx - ex)) - p.ext.x, static_cast<int>(std::floor(n.cy - ey)) - p.ext.y,
                                 static_cast<int>(2 * ex) + 3, static_cast<int>(2 * ey) + 3),
                        p.ext.width, p.ext.height);
    for (int y = box.y; y < box.br().y; ++y) {
      float* c = plane.ptr<float>(y);
      float* d = dab_halo ? p.b.ptr<float>(y) : nullptr;
      for (int x = box.x; x < box.br().x; ++x) {
        const float gx = static_cast<float>(x + p.ext.x) + 0.5f, gy = static_cast<float>(y + p.ext.y) + 0.5f;
        float dx = gx - n.cx, dy = gy - n.cy;
        float u = (dx * n.cos_t + dy * n.sin_t) / n.a, v = (-dx * n.sin_t + dy * n.cos_t) / n.b;
        float rho2 = u * u + v * v;
        if (rho2 >= reach_max2) continue;  // outside however the edge wobbles
        float rho = std::sqrt(rho2);
        float edge = reach * (0.75f + 0.5f * value_noise(n.tex_seed + 5, gx * wobble, gy * wobble));
        if (rho >= edge) continue;
        float w = std::min(1.0f, (edge - rho) * 1.5f);
        c[x] += amount * w;
        if (d) d[x] += n.cyto2 * (0.4f + 0.6f * std::exp(-(edge - rho) * 2.5f)) * w;
      }
    }
  }
}

// How far a membrane-stained cell reaches: its body ends at 1.6-2.6 nucleus radii, wobbling by
// up to kCellWobble either way, and never beyond kMaxCellReach pixels, so nuclei farther than
// that from a region cannot own any of its pixels and every region (tile) paints the same values.
constexpr float kMaxCellReach = 64.0f;
constexpr float kCellWobble = 0.15f;

struct CellNucleus {
  float cx, cy, reach;  // centre, body radius (px)
  float cyto2;          // DAB density of the cell body
  size_t index;
};

// Membrane-stained ihc (Imaging::membrane > 0): each pixel belongs to the nearest nucleus's cell
// (a Voronoi sheet, so packed cells share their membranes) while within that cell's reach. A
// positive cell's body gets light DAB, its membrane (the bisector with a neighbouring cell, or
// the body's outer edge, whichever is nearer) dense DAB; the nucleus itself gets none.
void paint_membranes(const Scene& scene, Planes& p) {
  const Imaging& im = scene.imaging;
  if (im.membrane <= 0 || p.b.empty()) return;
  std::vector<CellNucleus> cells;
  const float margin = kMaxCellReach + 2.0f;
  for (size_t i = 0; i < scene.nuclei.size(); ++i) {
    const Nucleus& n = scene.nuclei[i];
    if (n.cx < static_cast<float>(p.ext.x) - margin || n.cx > static_cast<float>(p.ext.br().x) + margin ||
        n.cy < static_cast<float>(p.ext.y) - margin || n.cy > static_cast<float>(p.ext.br().y) + margin)
      continue;
    const float reach = std::sqrt(n.a * n.b) * (1.6f + unit_float(n.tex_seed + 31));
    cells.push_back({n.cx, n.cy, std::min(reach, kMaxCellReach / (1.0f + kCellWobble)), n.cyto2, i});
  }
  std::vector<size_t> row;  // the cells within reach of the row: no other can own or bound a pixel of it
  for (int y = 0; y < p.ext.height; ++y) {
    float* d = p.b.ptr<float>(y);
    const float gy = static_cast<float>(y + p.ext.y) + 0.5f;
    row.clear();
    for (size_t k = 0; k < cells.size(); ++k)
      if (std::abs(cells[k].cy - gy) <= kMaxCellReach) row.push_back(k);
    if (row.empty()) continue;
    for (int x = 0; x < p.ext.width; ++x) {
      const float gx = static_cast<float>(x + p.ext.x) + 0.5f;
      // The nearest and second-nearest centres (ties: the lower index, as the list is ordered).
      float d1 = 1e30f, d2 = 1e30f;
      size_t k1 = row[0], k2 = row[0];
      for (size_t k : row) {
        const float dx = gx - cells[k].cx, dy = gy - cells[k].cy, dd = dx * dx + dy * dy;
        if (dd < d1) { d2 = d1; k2 = k1; d1 = dd; k1 = k; }
        else if (dd < d2) { d2 = dd; k2 = k; }
      }
      const CellNucleus& c = cells[k1];
      if (c.cyto2 <= 0) continue;
      d1 = std::sqrt(d1);
      const float wobble =
          1.0f - kCellWobble + 2.0f * kCellWobble * value_noise(scene.nuclei[c.index].tex_seed + 33, gx / 6.0f, gy / 6.0f);
      const float edge = c.reach * wobble;
      if (d1 >= edge) continue;
      const Nucleus& n = scene.nuclei[c.index];
      if (n.shape_s(gx, gy) < 1.0f) continue;
      // Distance to the membrane: the bisector with the second cell where that cell reaches
      // here too, else the outer edge of the body.
      float to_membrane = edge - d1;
      if (d2 < 1e30f) {
        d2 = std::sqrt(d2);
        if (d2 < cells[k2].reach) to_membrane = std::min(to_membrane, 0.5f * (d2 - d1));
      }
      const float m = std::exp(-to_membrane * to_membrane * (1.0f / 1.8f));
      d[x] += c.cyto2 * (0.3f + im.membrane * m) * std::min(1.0f, (edge - d1) * 1.5f + 0.3f);
    }
  }
}

// Relative signal of nucleus n at (gx, gy), normalised radius s: edge fall-off or dense rim,
// mottled chromatin, chromocentres, nucleoli.
float nucleus_value(const Nucleus& n, float nucleolus_sign, float gx, float gy, float s) {
  float profile = 1.0f - n.edge * s * s * s;
  if (n.rim > 0) {
    float t = (1.0f - s) * (1.0f / 0.18f);
    profile = profile * (1.0f - n.rim) + 1.3f * n.rim * std::exp(-t * t);
  }
  float tex = 1.0f + 2.0f * n.texture * texture_noise(n.tex_seed, gx, gy, n.tex_scale);
  if (n.spots > 0) {
    float sp = value_noise(n.tex_seed + 7, gx / n.spot_scale, gy / n.spot_scale);
    tex += 3.0f * n.spots * std::max(0.0f, sp - 0.72f) * (1.0f / 0.28f);
  }
  for (int k = 0; k < n.nucleoli; ++k) {
    float dx = gx + 0.5f - n.cx - n.nucleolus_xy[2 * static_cast<size_t>(k)];
    float dy = gy + 0.5f - n.cy - n.nucleolus_xy[2 * static_cast<size_t>(k) + 1];
    float g = std::exp(-(dx * dx + dy * dy) / (2.0f * n.nucleolus_r * n.nucleolus_r));
    tex *= nucleolus_sign < 0 ? 1.0f - n.nucleolus_depth * g : 1.0f + 1.5f * n.nucleolus_depth * g;
  }
  return n.intensity * profile * std::max(0.0f, tex);
}

// Each nucleus paints the pixels it owns, and those where it lies under the owner: light adds
// up in fluorescence and phase, stain densities add up in absorbing styles, so an overlap is
// brighter (or darker) than either nucleus alone.
void paint_nuclei(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, Planes& p) {
  const Imaging& im = scene.imaging;
  for (size_t i = 0; i < scene.nuclei.size(); ++i) {
    const Nucleus& n = scene.nuclei[i];
    cv::Rect box = plane_box(p.ext, n.cx, n.cy, n.bound);
    if (box.empty()) continue;
    cv::Mat& a = n.defocus ? p.qa : p.a;
    cv::Mat& b = n.defocus ? p.qb : p.b;
    for (int y = box.y; y < box.br().y; ++y) {
      const int gyi = y + p.ext.y;
      const int* l = labels.ptr<int>(gyi) + p.ext.x;
      float* pa = a.ptr<float>(y);
      float* pb = b.empty() ? nullptr : b.ptr<float>(y);
      float* stroma = im.style == Style::histology ? p.b.ptr<float>(y) : nullptr;
      for (int x = box.x; x < box.br().x; ++x) {
        if (l[x] == 0) continue;
        const size_t own = static_cast<size_t>(owner[static_cast<size_t>(l[x] - 1)]);
        if (own != i && scene.nuclei[own].z <= n.z) continue;
        const float gx = static_cast<float>(x + p.ext.x), gy = static_cast<float>(gyi);
        const float s = n.shape_s(gx + 0.5f, gy + 0.5f);
        if (s >= 1.0f) continue;
        const float value = nucleus_value(n, im.nucleolus_sign, gx, gy, s);
        pa[x] += im.signal * value;
        if (n.stain2 > 0 && pb) pb[x] += n.stain2 * value / std::max(0.2f, n.intensity) *
                                         (1.0f + 0.6f * texture_noise(n.tex_seed + 9, gx, gy, 1.5f));
        if (stroma && own == i) stroma[x] *= 0.35f;  // the nucleus displaces the eosin-stained stroma
      }
    }
  }
}

void stamp(cv::Mat& plane, const cv::Rect& ext, float cx, float cy, float r, float amount) {
  cv::Rect box = plane_box(ext, cx, cy, 3.0f * r + 1.0f);
  const float inv = 1.0f / (2.0f * r * r);
  for (int y = box.y; y < box.br().y; ++y) {
    float* q = plane.ptr<float>(y);
    for (int x = box.x; x < box.br().x; ++x) {
      float dx = static_cast<float>(x + ext.x) + 0.5f - cx, dy = static_cast<float>(y + ext.y) + 0.5f - cy;
      q[x] += amount * std::exp(-(dx * dx + dy * dy) * inv);
    }
  }
}

void paint_debris(const Scene& scene, Planes& p) {
  const Imaging& im = scene.imaging;
  cv::Mat& plane = im.style == Style::histology ? p.b : p.a;
  const float scale = im.style == Style::histology ? 1.2f : im.signal;
  const cv::Rect far = cv::Rect(p.ext.x - 64, p.ext.y - 64, p.ext.width + 128, p.ext.height + 128);
  for (const Debris& d : scene.debris) {
    switch (d.kind) {
      case DebrisKind::blob: stamp(plane, p.ext, d.cx, d.cy, d.r, scale * d.intensity); break;
      case DebrisKind::junk:
        stamp(im.style == Style::histology ? p.qb : p.qa, p.ext, d.cx, d.cy, d.r, scale * d.intensity);
        break;
      case DebrisKind::fibre: {
        // Gaussian dots every half width along the Bezier add up to a line of even density.
        const float x0 = std::min({d.cx, d.x1, d.x2}), x1 = std::max({d.cx, d.x1, d.x2});
        const float y0 = std::min({d.cy, d.y1, d.y2}), y1 = std::max({d.cy, d.y1, d.y2});
        if (x1 < static_cast<float>(far.x) || x0 > static_cast<float>(far.br().x) || y1 < static_cast<float>(far.y) ||
            y0 > static_cast<float>(far.br().y))
          break;  // the curve lies inside the hull of its control points
        float len = std::hypot(d.x1 - d.cx, d.y1 - d.cy) + std::hypot(d.x2 - d.x1, d.y2 - d.y1);
        int steps = std::max(2, static_cast<int>(len / (0.5f * d.r)));
        float amount = scale * d.intensity * 0.5f / 1.2533f;  // spacing / (sqrt(2 pi) sigma)
        for (int k = 0; k <= steps; ++k) {
          float t = static_cast<float>(k) / static_cast<float>(steps), u = 1.0f - t;
          float x = u * u * d.cx + 2 * u * t * d.x1 + t * t * d.x2, y = u * u * d.cy + 2 * u * t * d.y1 + t * t * d.y2;
          stamp(plane, p.ext, x, y, d.r, amount);
        }
        break;
      }
    }
  }
}

}  // namespace

bool has_two_stains(Style style) { return style == Style::histology || style == Style::ihc; }

bool has_out_of_focus(const Scene& scene) {
  return std::any_of(scene.nuclei.begin(), scene.nuclei.end(), [](const Nucleus& n) { return n.defocus; }) ||
         std::any_of(scene.debris.begin(), scene.debris.end(), [](const Debris& d) { return d.kind == DebrisKind::junk; });
}

Planes paint_planes(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& ext) {
  Planes p;
  p.ext = ext;
  const bool two = has_two_stains(scene.imaging.style);
  p.a.create(ext.size(), CV_32FC1);
  if (two) p.b.create(ext.size(), CV_32FC1);
  if (has_out_of_focus(scene)) {
    p.qa = cv::Mat::zeros(ext.size(), CV_32FC1);
    if (two) p.qb = cv::Mat::zeros(ext.size(), CV_32FC1);
  }
  paint_background(scene, p);
  paint_cytoplasm(scene, p);
  paint_membranes(scene, p);
  paint_nuclei(scene, labels, owner, p);
  paint_debris(scene, p);
  return p;
}

}  // namespace nucseg::synth::detail
