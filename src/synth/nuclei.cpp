// Nucleus populations and shapes: interphase nuclei (round, elongated, lobed, kidney-shaped),
// condensed mitotic figures and apoptotic bodies, with their chromatin (mottled texture,
// chromocentres, nucleoli, a dense rim).
#include <algorithm>
#include <cmath>

#include "shapes.hpp"

namespace nucseg::synth::detail {
namespace {

constexpr double kPi = 3.14159265358979;
constexpr double kMaxHarmonicSum = 0.3;  // keeps an ordinary outline star-shaped and smooth
constexpr double kMaxLobedSum = 0.45;    // lobed nuclei: deeper notches, still star-shaped
constexpr double kMaxBend = 1.4;  // tip offset in units of b: bend > 0.5 dents one side
constexpr double kMinBendElongation = 1.4;

float f(double v) { return static_cast<float>(v); }

// The typical radius of a second population, `ratio` times larger or smaller, inside the range.
double second_typical(Rng& rng, double t, double lo, double hi) {
  double ratio = rng.uniform(1.5, 2.6);
  bool larger = rng.chance(0.5);
  if (larger && t * ratio > hi) larger = false;
  if (!larger && t / ratio < lo) larger = true;
  return std::clamp(larger ? t * ratio : t / ratio, lo, hi);
}

void draw_outline(Rng& rng, Nucleus& n, double irregularity, double cap, int lobes) {
  double sum = 0;
  for (int k = 0; k < kHarmonics; ++k) {
    double amp = irregularity * 0.075 / std::pow(k + 1.0, 0.9) * std::abs(rng.normal());
    if (k + 2 == lobes) amp += rng.uniform(0.12, 0.25);
    double ph = rng.uniform(0, 2 * kPi);
    n.harm[2 * static_cast<size_t>(k)] = f(amp * std::cos(ph));
    n.harm[2 * static_cast<size_t>(k) + 1] = f(amp * std::sin(ph));
    sum += amp;
  }
  if (sum > cap) {
    for (auto& h : n.harm) h *= f(cap / sum);
    sum = cap;
  }
  // The outline lies inside the ellipse scaled by (1 + sum), shifted by the bend.
  n.bound = f(std::max(n.a, n.b) * (1 + sum) + n.bend * n.b * (1 + sum) * (1 + sum) + 1);
}

void draw_chromatin(Rng& rng, const ShapeModel& m, Nucleus& n) {
  n.texture = f(rng.uniform(0.05, m.texture_hi));
  n.tex_scale = f(rng.uniform(1.2, 3.0));
  n.edge = f(rng.uniform(0.05, m.edge_hi));
  n.tex_seed = rng.next();
  if (m.spots > 0) {
    n.spots = f(m.spots * rng.uniform(0.5, 1.0));
    n.spot_scale = f(std::max(1.2, 0.3 * std::sqrt(n.a * n.b)));
  }
  if (m.rim > 0) n.rim = f(m.rim * rng.uniform(0.5, 1.0));
  if (rng.chance(m.p_nucleoli)) {
    n.nucleoli = rng.integer(1, 3);
    double r = std::sqrt(n.a * n.b);
    n.nucleolus_r = f(std::max(0.7, r * rng.uniform(0.1, 0.2)));
    n.nucleolus_depth = f(rng.uniform(0.3, 0.8));
    for (int k = 0; k < n.nucleoli; ++k) {
      double rho = 0.45 * std::sqrt(rng.uniform()), phi = rng.uniform(0, 2 * kPi);
      double u = rho * n.a * std::cos(phi), v = rho * n.b * std::sin(phi);  // inside the ellipse
      n.nucleolus_xy[2 * static_cast<size_t>(k)] = f(u * n.cos_t - v * n.sin_t);
      n.nucleolus_xy[2 * static_cast<size_t>(k) + 1] = f(u * n.sin_t + v * n.cos_t);
    }
  }
}

}  // namespace

ShapeModel draw_shape_model(Rng& rng, const SynthConfig& config, const Imaging& imaging) {
  ShapeModel m;
  m.min_r = config.min_radius;
  m.max_r = config.max_radius;
  m.typical_r = rng.log_uniform(config.min_radius, config.max_radius);
  m.typical_r2 = m.typical_r;
  if (rng.chance(0.25) && config.max_radius > 1.2 * config.min_radius) {
    m.typical_r2 = second_typical(rng, m.typical_r, config.min_radius, config.max_radius);
    m.second_fraction = rng.uniform(0.1, 0.4);
  }
  m.size_spread = rng.uniform(0.08, 0.3);
  m.r_cap = std::min(m.max_r, std::max(m.typical_r, m.typical_r2) * std::exp(2.5 * m.size_spread));
  // Most images round to oval; some spindle-shaped (fibroblasts, smooth muscle).
  if (rng.chance(0.15)) {
    m.elong_sd = rng.uniform(0.8, 1.6);
    m.max_elong = 5;
  } else {
    m.elong_sd = rng.uniform(0.15, 0.5);
    m.max_elong = 3;
  }
  m.irregularity = rng.uniform(0.3, 1.6);
  if (rng.chance(0.4)) m.p_lobed = rng.uniform(0.0, 0.3);
  if (rng.chance(0.5)) m.p_kidney = rng.uniform(0.0, 0.3);
  m.p_mitotic = rng.uniform(0.0, 0.05);
  m.p_apoptotic = rng.uniform(0.0, 0.04);
  if (rng.chance(0.3)) m.p_defocus = rng.uniform(0.05, 0.3);
  m.brightness_sd = rng.uniform(0.12, 0.5);
  m.dim_fraction = rng.uniform(0.0, 0.2);
  m.texture_hi = rng.uniform(0.1, 0.45);
  m.edge_hi = rng.uniform(0.15, 0.6);
  const bool tissue = imaging.style == Style::histology || imaging.style == Style::ihc;
  if (rng.chance(0.3)) m.spots = rng.uniform(0.3, 1.0);
  if (rng.chance(tissue ? 0.5 : 0.35)) m.p_nucleoli = rng.uniform(0.5, 1.0);
  if (rng.chance(tissue ? 0.5 : 0.25)) m.rim = rng.uniform(0.2, 0.7);
  m.dab_positive = imaging.dab_positive;
  m.dab = imaging.dab;
  m.dab_nuclear = imaging.dab_nuclear;
  // Bound of the largest outline: a <= r sqrt(e), ordinary/lobed sum <= kMaxLobedSum, and a
  // bend only on nuclei with e >= kMinBendElongation, so bend * b <= kMaxBend * r / sqrt(1.4).
  const double s = 1 + kMaxLobedSum;
  m.max_bound = f(m.r_cap * (std::sqrt(m.max_elong) * s + kMaxBend / std::sqrt(kMinBendElongation) * s * s) + 1.0);
  return m;
}

Nucleus draw_nucleus(Rng& rng, const ShapeModel& m, float cx, float cy) {
  Nucleus n;
  n.cx = cx;
  n.cy = cy;
  const double t = rng.chance(m.second_fraction) ? m.typical_r2 : m.typical_r;
  double u = rng.uniform();
  n.kind = u < m.p_mitotic ? Kind::mitotic : u < m.p_mitotic + m.p_apoptotic ? Kind::apoptotic : Kind::interphase;
  double r = t * std::exp(m.size_spread * rng.normal());
  double e = 1.0 + std::min(m.max_elong - 1.0, std::abs(rng.normal()) * m.elong_sd);
  double irregularity = m.irregularity, cap = kMaxHarmonicSum;
  int lobes = 0;
  double gain = 1;
  if (n.kind == Kind::mitotic) {  // condensed chromosomes: small, bright, ragged; a plate seen edge-on
    r = t * rng.uniform(0.45, 0.7);
    e = rng.chance(0.5) ? rng.uniform(1.5, 3.0) : rng.uniform(1.0, 1.3);
    irregularity = 1.8;
    cap = kMaxLobedSum;
    gain = rng.uniform(1.8, 3.2);
  } else if (n.kind == Kind::apoptotic) {  // pyknotic: small, round, smooth, very dense
    r = t * rng.uniform(0.35, 0.6);
    e = rng.uniform(1.0, 1.3);
    irregularity = 0.3;
    gain = rng.uniform(2.0, 3.5);
  } else if (rng.chance(m.p_lobed)) {
    lobes = rng.integer(2, 4);
    cap = kMaxLobedSum;
    e = std::min(e, 1.6);
  } else if (rng.chance(m.p_kidney)) {
    e = rng.uniform(kMinBendElongation, 2.5);
    n.bend = f(rng.uniform(0.6, kMaxBend) * (rng.chance(0.5) ? 1 : -1));
  }
  r = std::clamp(r, m.min_r, m.r_cap);
  n.a = f(r * std::sqrt(e));
  n.b = f(r / std::sqrt(e));
  double angle = rng.uniform(0, 2 * kPi);
  n.cos_t = f(std::cos(angle));
  n.sin_t = f(std::sin(angle));
  float bend = n.bend;
  n.bend = std::abs(bend);  // the bound formula needs |bend|
  draw_outline(rng, n, irregularity, cap, lobes);
  n.bend = bend;
  n.intensity = f(gain * std::exp(m.brightness_sd * rng.normal()));
  if (n.kind == Kind::interphase && rng.chance(m.dim_fraction)) n.intensity *= f(rng.uniform(0.2, 0.5));
  draw_chromatin(rng, m, n);
  if (n.kind != Kind::interphase) {  // condensed chromatin: no nucleoli, no vesicular rim
    n.nucleoli = 0;
    n.rim = 0;
    n.spots = 0;
    n.edge = 0.05f;
    if (n.kind == Kind::mitotic) {
      n.texture = f(rng.uniform(0.25, 0.5));
      n.tex_scale = f(rng.uniform(0.8, 1.5));
    } else {
      n.texture = 0.05f;
    }
  }
  n.defocus = rng.chance(m.p_defocus);
  if (rng.chance(m.dab_positive)) {
    (m.dab_nuclear ? n.stain2 : n.cyto2) = f(m.dab * rng.uniform(0.5, 1.3));
    if (m.dab_nuclear) n.intensity *= 0.6f;  // DAB masks part of the counterstain
  }
  return n;
}

}  // namespace nucseg::synth::detail
