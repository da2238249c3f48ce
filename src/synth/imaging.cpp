// Imaging parameters of one image: optics (PSF, tilt, defocus), illumination, camera noise and
// compression, and the stains or contrast of each style. Ranges are wide on purpose: a network
// trained on these images must meet microscopes, cameras and stains it has never seen.
#include <algorithm>
#include <cmath>

#include "random.hpp"
#include "scene.hpp"

namespace nucseg::synth::detail {
namespace {

constexpr double kPi = 3.14159265358979;

float f(double v) { return static_cast<float>(v); }

// What every style shares: illumination, optics and the camera.
void draw_common(Rng& rng, Imaging& im, int width, int height) {
  im.noise_seed = rng.next();
  // Illumination varies over about one image side: a gradient more than a pattern.
  const double side = std::max(width, height);
  im.illum_ax = f(0.45 * std::pow(rng.uniform(), 1.5));
  im.illum_fx = f(2 * kPi / (side * rng.uniform(1.0, 3.0)));
  im.illum_px = f(rng.uniform(0, 2 * kPi));
  im.illum_ay = f(0.45 * std::pow(rng.uniform(), 1.5));
  im.illum_fy = f(2 * kPi / (side * rng.uniform(1.0, 3.0)));
  im.illum_py = f(rng.uniform(0, 2 * kPi));
  if (rng.chance(0.35)) im.vignette = f(rng.uniform(0.1, 0.5));
  // A tilted slide or a curved field: the PSF widens across the image.
  if (rng.chance(0.2)) {
    im.blur_sigma2 = -1;  // resolved once the style's PSF is known
    double t = rng.uniform(0, 2 * kPi);
    im.tilt_cos = f(std::cos(t));
    im.tilt_sin = f(std::sin(t));
  }
  im.defocus_sigma = f(rng.uniform(1.5, 3.5));
  // Camera: Poisson-Gaussian noise with gain from a few dozen to thousands of photons at full
  // scale, sometimes an sCMOS-like fixed pattern, readout banding, hot pixels, JPEG.
  im.read_noise = f(rng.log_uniform(0.003, 0.04));
  im.shot_noise = f(rng.log_uniform(0.0008, 0.03));
  if (rng.chance(0.3)) im.pattern_noise = f(rng.uniform(0.003, 0.02));
  if (rng.chance(0.15)) im.column_noise = f(rng.uniform(0.002, 0.012));
  if (rng.chance(0.2)) im.hot_pixels = f(rng.log_uniform(1e-5, 5e-4));
  if (rng.chance(0.12)) im.jpeg_quality = rng.integer(35, 85);
}

std::array<float, 3> jitter(Rng& rng, std::array<float, 3> v, double lo, double hi) {
  for (auto& c : v) c *= f(rng.uniform(lo, hi));
  return v;
}

// Light through an empty slide: near white, a little warm or cold.
std::array<float, 3> slide_white(Rng& rng, float background) {
  float w = 1.0f - 0.5f * background;
  return {w * f(rng.uniform(0.95, 1.0)), w * f(rng.uniform(0.93, 1.0)), w * f(rng.uniform(0.85, 1.0))};
}

void draw_fluorescence(Rng& rng, Imaging& im, double side) {
  im.background = f(rng.chance(0.6) ? rng.uniform(0.005, 0.06) : rng.uniform(0.06, 0.25));
  im.signal = f(rng.chance(0.2) ? rng.uniform(0.08, 0.2) : rng.uniform(0.25, 0.85));  // some dim images
  im.blur_sigma = f(rng.uniform(0.6, 2.0));
  if (rng.chance(0.35)) im.cytoplasm = f(rng.uniform(0.03, 0.2));  // autofluorescence, bleed-through
  im.offset_gx = f(rng.uniform(-0.06, 0.06) / side);
  im.offset_gy = f(rng.uniform(-0.06, 0.06) / side);
  im.nucleolus_sign = -1;  // DNA dyes leave nucleoli dark
  // Kaggle's fluorescence PNGs are grey; user archives keep the channel colour (DAPI blue...).
  if (rng.chance(0.25)) {
    static constexpr std::array<std::array<float, 3>, 6> colours{{
        {0.15f, 0.35f, 1.0f}, {0.1f, 1.0f, 0.2f}, {1.0f, 0.15f, 0.1f},
        {0.1f, 0.9f, 1.0f}, {1.0f, 0.2f, 1.0f}, {1.0f, 0.9f, 0.1f}}};
    im.tint = jitter(rng, colours[static_cast<size_t>(rng.integer(0, 5))], 0.8, 1.0);
  }
}

void draw_brightfield(Rng& rng, Imaging& im) {
  im.background = f(rng.uniform(0.03, 0.2));
  im.signal = f(rng.chance(0.15) ? rng.uniform(0.12, 0.25) : rng.uniform(0.25, 1.0));
  if (rng.chance(0.8)) im.cytoplasm = f(rng.uniform(0.02, 0.2));
  im.blur_sigma = f(rng.uniform(0.6, 1.8));
  // Grey, the purple of a light haematoxylin/Giemsa stain, or any other hue.
  double u = rng.uniform();
  if (u < 0.4) {
    im.tint = {1.0f, 1.0f, 1.0f};
  } else if (u < 0.75) {
    im.tint = {f(rng.uniform(0.6, 0.9)), f(rng.uniform(0.95, 1.25)), f(rng.uniform(0.4, 0.7))};
  } else {
    im.tint = {f(rng.uniform(0.2, 1.2)), f(rng.uniform(0.2, 1.2)), f(rng.uniform(0.2, 1.2))};
  }
  im.white = slide_white(rng, im.background);
}

// Ruifrok & Johnston optical densities, jittered widely: staining protocols, scanners and
// fading differ more between labs than within one.
constexpr std::array<float, 3> kHaematoxylin{0.65f, 0.70f, 0.29f};
constexpr std::array<float, 3> kEosin{0.07f, 0.99f, 0.11f};
constexpr std::array<float, 3> kDab{0.268f, 0.570f, 0.776f};

void draw_histology(Rng& rng, Imaging& im) {
  im.background = f(rng.uniform(0.02, 0.15));
  im.signal = f(rng.chance(0.15) ? rng.uniform(0.35, 0.6) : rng.uniform(0.6, 1.8));
  im.cytoplasm = f(rng.uniform(0.05, 0.25));
  im.stroma = f(rng.uniform(0.1, 0.6));
  im.blur_sigma = f(rng.uniform(0.6, 1.6));
  im.tint = jitter(rng, kHaematoxylin, 0.65, 1.35);
  im.tint2 = {kEosin[0] * f(rng.uniform(0.3, 2.5)), kEosin[1] * f(rng.uniform(0.7, 1.2)),
              kEosin[2] * f(rng.uniform(0.5, 2.0))};
  im.white = slide_white(rng, im.background);
}

void draw_ihc(Rng& rng, Imaging& im) {
  im.background = f(rng.uniform(0.02, 0.12));
  im.signal = f(rng.uniform(0.35, 1.1));  // a light haematoxylin counterstain
  im.cytoplasm = f(rng.uniform(0.0, 0.1));
  im.blur_sigma = f(rng.uniform(0.6, 1.6));
  im.tint = jitter(rng, kHaematoxylin, 0.7, 1.3);
  im.tint2 = jitter(rng, kDab, 0.75, 1.25);
  im.dab_positive = f(rng.uniform(0.05, 0.7));
  im.dab = f(rng.uniform(0.5, 1.6));
  im.dab_nuclear = rng.chance(0.5);
  im.white = slide_white(rng, im.background);
  // A membrane stain (HER2-, E-cadherin-like) on tissue: most cells positive, their bodies filling
  // the space between nuclei, DAB densest along the shared membranes: brown sheets around pale
  // nuclei. Without it the network read such sheets (skimage's ihc.png) as giant nuclei.
  if (!im.dab_nuclear && rng.chance(0.7)) {
    im.membrane = f(rng.uniform(0.6, 1.6));
    im.dab_positive = f(rng.uniform(0.5, 1.0));
  }
}

// Phase contrast: the image is the optical path through the cells, high-pass filtered by the
// finite phase ring; a dense nucleus comes out dark with a bright halo, its centre shaded off.
void draw_phase(Rng& rng, Imaging& im) {
  im.background = f(rng.uniform(0.35, 0.65));
  im.signal = f(rng.uniform(0.5, 1.0));
  im.contrast = f(rng.uniform(0.8, 1.5));
  // Mostly a strong halo; sometimes little of it: dark nuclei on mid-grey.
  im.halo = f(rng.chance(0.8) ? rng.uniform(0.7, 1.0) : rng.uniform(0.1, 0.4));
  im.halo_sigma = f(rng.uniform(1.5, 4.0));
  im.cytoplasm = f(rng.uniform(0.0, 0.12));
  im.blur_sigma = f(rng.uniform(0.6, 1.5));
}

}  // namespace

Imaging draw_imaging(Rng& rng, Style style, int width, int height) {
  Imaging im;
  im.style = style;
  draw_common(rng, im, width, height);
  switch (style) {
    case Style::fluorescence: draw_fluorescence(rng, im, std::max(width, height)); break;
    case Style::brightfield: draw_brightfield(rng, im); break;
    case Style::histology: draw_histology(rng, im); break;
    case Style::ihc: draw_ihc(rng, im); break;
    case Style::phase: draw_phase(rng, im); break;
  }
  if (im.blur_sigma2 < 0) im.blur_sigma2 = im.blur_sigma * f(rng.uniform(1.8, 3.0));
  // Transmitted light is plentiful: scanners and brightfield cameras see little shot noise.
  if (style != Style::fluorescence) {
    im.read_noise *= 0.5f;
    im.shot_noise *= 0.25f;
  }
  // Even the dimmest image keeps nuclei above the noise (signal-to-noise of about 3 or more).
  im.read_noise = std::min(im.read_noise, 0.3f * im.signal);
  im.shot_noise = std::min(im.shot_noise, 0.25f * im.signal);
  return im;
}

}  // namespace nucseg::synth::detail
