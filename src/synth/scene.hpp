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

class Rng;

enum class Style { fluorescence, brightfield, histology, ihc, phase };
Style parse_style(const std::string& name);
const char* style_name(Style style);

constexpr int kHarmonics = 5;  // radial harmonics 2..6 of the outline

enum class Kind : uint8_t { interphase, mitotic, apoptotic };

// A nucleus is a perturbed, optionally bent ellipse: in its rotated frame (u, v), with v
// measured from the parabola v = bend * b * (u/a)^2, the normalised radius
// rho = |(u/a, v/b)| is compared with R(phi) = 1 + Re(sum_k c_k z^k), z = e^{i phi}.
// s = rho / R is 0 at the centre and 1 on the outline. Where nuclei overlap, the one with the
// highest z owns the pixel (it lies on top: occlusion); nuclei of equal z (pressed together in
// a cluster) split overlapping pixels by the smaller s, a shared curved border with no gap.
struct Nucleus {
  float cx = 0, cy = 0;
  float a = 1, b = 1;          // semi-axes (px)
  float cos_t = 1, sin_t = 0;  // orientation
  float bend = 0;              // kidney / banana bend: tip offset in units of b
  std::array<float, 2 * kHarmonics> harm{};  // (re, im) of c_2 .. c_{kHarmonics+1}
  float bound = 1;             // radius of a circle that contains the outline
  int z = 0;                   // stacking order (occlusion)
  int cluster = -1;            // index of its cluster, -1 when isolated
  Kind kind = Kind::interphase;
  bool defocus = false;        // lies out of the focal plane: rendered with the defocus blur
  // Appearance
  float intensity = 1;  // relative signal (fluorescence, phase) or stain density (absorbing styles)
  float stain2 = 0;     // ihc: DAB density of the nucleus (0: negative)
  float cyto2 = 0;      // ihc: DAB density of the cell body (membrane/cytoplasm staining)
  float texture = 0.2f; // chromatin texture amplitude
  float tex_scale = 2.5f;
  float edge = 0.3f;    // signal drop towards the outline (makes shared borders faintly visible)
  float rim = 0;        // nuclear envelope / vesicular chromatin: interior pale, rim dense
  float spots = 0;      // chromocentres: amplitude of bright spots
  float spot_scale = 2;
  int nucleoli = 0;     // 0..3 nucleoli at nucleolus_xy (offsets from the centre, px)
  std::array<float, 6> nucleolus_xy{};
  float nucleolus_r = 1, nucleolus_depth = 0;
  uint64_t tex_seed = 0;

  // Normalised radius s of pixel centre (x, y); >= 1 outside.
  float shape_s(float x, float y) const {
    float dx = x - cx, dy = y - cy;
    float u = (dx * cos_t + dy * sin_t) / a;
    float v = (-dx * sin_t + dy * cos_t) / b - bend * u * u;
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

enum class DebrisKind : uint8_t { blob, fibre, junk };

// Unlabelled matter. blob: a Gaussian speck; fibre: a quadratic Bezier from (cx, cy) through
// control (x1, y1) to (x2, y2) of half-width r; junk: a large out-of-focus blob (defocus plane).
struct Debris {
  DebrisKind kind = DebrisKind::blob;
  float cx = 0, cy = 0, r = 1, intensity = 1;
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// Per-image imaging parameters, drawn once per image.
struct Imaging {
  Style style = Style::fluorescence;
  float background = 0.05f;   // fluorescence: dark level; absorbing styles: background density; phase: grey level
  float signal = 0.6f;        // scale of the nucleus signal / stain density / optical path
  float blur_sigma = 1.0f;    // in-focus PSF
  float blur_sigma2 = 0;      // > 0: the PSF sigma ramps to this across the image (tilted slide)
  float tilt_cos = 1, tilt_sin = 0;  // direction of that ramp
  float defocus_sigma = 0;    // extra blur of out-of-focus nuclei and junk
  float read_noise = 0.01f;   // Gaussian noise sigma (fraction of full scale)
  float shot_noise = 0.01f;   // variance per unit signal (Poisson: 1 / photons at full scale)
  float pattern_noise = 0;    // sCMOS-like fixed per-pixel offset sigma
  float column_noise = 0;     // fixed per-column offset sigma (readout banding)
  float hot_pixels = 0;       // fraction of stuck bright pixels
  int jpeg_quality = 0;       // > 0: 8x8 block DCT quantisation like a JPEG at this quality
  float cytoplasm = 0.0f;     // density / signal of the cell body around nuclei
  float stroma = 0.0f;        // histology: eosin density of the textured stroma
  float nucleolus_sign = 1;   // +1: nucleoli add signal/density, -1: they lack it (DAPI)
  float halo = 0;             // phase: strength of the high-pass (halo) term
  float halo_sigma = 3;       // phase: width of the halo (px)
  float contrast = 1;         // phase: darkening per unit optical path
  float dab_positive = 0;     // ihc: share of DAB-positive cells
  float dab = 0;              // ihc: DAB density of a positive cell
  bool dab_nuclear = true;    // ihc: DAB in the nucleus (Ki-67-like) or in the cell body (membrane)
  float membrane = 0;         // ihc, DAB in the cell body: > 0 paints cells as a sheet (each the region nearest
                              // its nucleus) with DAB this dense along their membranes; 0: a halo per cell
  std::array<float, 3> tint{1, 1, 1};    // fluorescence: channel weights; absorbing: OD of stain 1
  std::array<float, 3> tint2{1, 1, 1};   // histology: eosin OD; ihc: DAB OD
  std::array<float, 3> white{1, 1, 1};   // absorbing styles: light through an empty slide
  // Uneven illumination: gain(x, y) = (1 + ax cos(fx x + px)) (1 + ay cos(fy y + py)) * vignette
  float illum_ax = 0, illum_fx = 0, illum_px = 0, illum_ay = 0, illum_fy = 0, illum_py = 0;
  float vignette = 0;                  // relative gain loss at the image corners
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

// Imaging parameters of one image of `style` (imaging.cpp).
Imaging draw_imaging(Rng& rng, Style style, int width, int height);

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
