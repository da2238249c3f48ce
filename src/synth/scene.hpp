// Private to src/synth: the geometry and appearance of one synthetic image, before rendering.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"

namespace nucseg::synth::detail {

enum class Style { fluorescence, brightfield, histology };
Style parse_style(const std::string& name);
const char* style_name(Style style);

constexpr int kHarmonics = 5;  // radial harmonics 2..6 of the outline

// A nucleus is a perturbed ellipse: in its rotated frame (u, v) the normalised radius
// rho = |(u/a, v/b)| is compared with R(phi) = 1 + Re(sum_k c_k z^k), z = e^{i phi}.
// s = rho / R is 0 at the centre and 1 on the outline; touching nuclei split overlapping
// pixels by the smaller s, which gives shared curved borders with no gap.
struct Nucleus {
  float cx = 0, cy = 0;
  float a = 1, b = 1;          // semi-axes (px)
  float cos_t = 1, sin_t = 0;  // orientation
  std::array<float, 2 * kHarmonics> harm{};  // (re, im) of c_2 .. c_{kHarmonics+1}
  float bound = 1;             // radius of a circle that contains the outline
  // Appearance
  float intensity = 1;  // relative signal (fluorescence) or stain density (absorbing styles)
  float texture = 0.2f; // chromatin texture amplitude
  float edge = 0.3f;    // signal drop towards the outline (makes shared borders faintly visible)
  float tex_scale = 2.5f;
  uint64_t tex_seed = 0;
  int cluster = -1;     // index of its cluster, -1 when isolated

  // Normalised radius s of pixel centre (x, y); >= 1 outside.
  float shape_s(float x, float y) const {
    float dx = x - cx, dy = y - cy;
    float u = (dx * cos_t + dy * sin_t) / a;
    float v = (-dx * sin_t + dy * cos_t) / b;
    float rho = std::sqrt(u * u + v * v);
    if (rho < 1e-6f) return 0.0f;
    float zr = u / rho, zi = v / rho;  // e^{i phi}
    float pr = zr * zr - zi * zi, pi = 2 * zr * zi;  // z^2
    float r = 1.0f;
    for (int k = 0; k < kHarmonics; ++k) {
      r += harm[2 * k] * pr - harm[2 * k + 1] * pi;
      float nr = pr * zr - pi * zi;
      pi = pr * zi + pi * zr;
      pr = nr;
    }
    return rho / r;
  }
};

struct Debris {
  float cx, cy, r, intensity;
};

// Per-image imaging parameters, drawn once per image.
struct Imaging {
  Style style = Style::fluorescence;
  float background = 0.05f;   // fluorescence: dark level; absorbing styles: background density
  float signal = 0.6f;        // scale of the nucleus signal / stain density
  float blur_sigma = 1.0f;
  float read_noise = 0.01f;   // Gaussian noise sigma (fraction of full scale)
  float shot_noise = 0.01f;   // variance per unit signal (Poisson-like)
  float cytoplasm = 0.0f;     // density of the faint cell body around nuclei (absorbing styles)
  float stroma = 0.0f;        // histology: eosin density of the textured stroma
  std::array<float, 3> tint{1, 1, 1};    // absorbing styles: optical density per channel (nuclear stain)
  std::array<float, 3> tint2{1, 1, 1};   // histology: eosin density per channel
  // Uneven illumination: gain(x, y) = 1 + ax*cos(fx x + px) + ay*cos(fy y + py) + axy*cos(..)cos(..)
  float illum_ax = 0, illum_fx = 0, illum_px = 0, illum_ay = 0, illum_fy = 0, illum_py = 0, illum_axy = 0;
  float offset_gx = 0, offset_gy = 0;  // fluorescence: additive background ramp per pixel
  uint64_t noise_seed = 0;
};

struct Scene {
  int width = 0, height = 0;
  int min_area = 8;  // smaller label pieces (nuclei cut by the image border) are dropped
  Imaging imaging;
  std::vector<Nucleus> nuclei;
  std::vector<Debris> debris;
};

// Draws the imaging parameters and places the nuclei of one image.
Scene make_scene(const SynthConfig& config, uint64_t seed, int width, int height, Style style);

// Labels (CV_32SC1, full image) of every nucleus: pixel -> nucleus index + 1, then fragments
// and specks removed and labels renumbered 1..N in nucleus order. `owner` receives, for each
// final label, the index of its nucleus in scene.nuclei.
cv::Mat rasterize_labels(const Scene& scene, std::vector<int>& owner);

// Renders the rows/columns `region` of the image into `rgba` (CV_8UC4, full image) from the
// final labels. The result for a pixel does not depend on how the image is cut into regions.
void render_region(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& region,
                   cv::Mat& rgba);

}  // namespace nucseg::synth::detail
