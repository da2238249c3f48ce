// Rendering of one image region from the scene and its labels: the planes (paint.cpp) go
// through the optics (PSF blur, possibly widening across a tilted slide; a wider blur for
// out-of-focus matter; the phase ring's halo), illumination, the style's colour model, camera
// noise and optional JPEG-like compression. Every term is a function of the global pixel
// position and the blurs read a margin around the region, so a big image rendered tile by tile
// is the same as one rendered at once.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "paint.hpp"
#include "random.hpp"

namespace nucseg::synth::detail {
namespace {

constexpr uint64_t kPatternStream = 0xF1CED0FFULL, kColumnStream = 0xC01D0FFULL, kHotStream = 0x407B1CULL;

int blur_radius(float sigma) { return static_cast<int>(std::ceil(3.0f * sigma)); }

void gaussian(const cv::Mat& in, cv::Mat& out, float sigma) {
  const int r = blur_radius(sigma);
  cv::GaussianBlur(in, out, cv::Size(2 * r + 1, 2 * r + 1), sigma, sigma, cv::BORDER_REFLECT_101);
}

// Position along the tilt direction, 0 at one image edge and 1 at the opposite one.
float tilt_at(const Scene& scene, float gx, float gy) {
  const Imaging& im = scene.imaging;
  const float w = static_cast<float>(scene.width), h = static_cast<float>(scene.height);
  const float span = std::abs(im.tilt_cos) * w + std::abs(im.tilt_sin) * h;
  const float lo = std::min(0.0f, im.tilt_cos * w) + std::min(0.0f, im.tilt_sin * h);
  return std::clamp((gx * im.tilt_cos + gy * im.tilt_sin - lo) / std::max(span, 1.0f), 0.0f, 1.0f);
}

// The PSF: one blur, or a blend of two that widens across the image; out-of-focus matter
// blurred more on top.
void optics(const Scene& scene, cv::Mat& plane, const cv::Mat& defocused, const cv::Rect& ext) {
  const Imaging& im = scene.imaging;
  if (plane.empty()) return;
  if (im.blur_sigma2 > 0) {
    cv::Mat sharp, soft;
    gaussian(plane, sharp, im.blur_sigma);
    gaussian(plane, soft, im.blur_sigma2);
    for (int y = 0; y < ext.height; ++y) {
      float* o = plane.ptr<float>(y);
      const float* s = sharp.ptr<float>(y);
      const float* w = soft.ptr<float>(y);
      for (int x = 0; x < ext.width; ++x) {
        float t = tilt_at(scene, static_cast<float>(x + ext.x), static_cast<float>(y + ext.y));
        o[x] = s[x] + (w[x] - s[x]) * t;
      }
    }
  } else {
    gaussian(plane, plane, im.blur_sigma);
  }
  if (!defocused.empty()) {
    cv::Mat q;
    gaussian(defocused, q, std::hypot(im.blur_sigma, im.defocus_sigma));
    plane += q;
  }
}

// Pixels the optics of `scene` read beyond a region to get it exactly right.
int optics_margin(const Imaging& im) {
  int psf = blur_radius(std::max(im.blur_sigma, im.blur_sigma2));
  int halo = im.style == Style::phase ? blur_radius(im.halo_sigma) : 0;
  int defocus = blur_radius(std::hypot(std::max(im.blur_sigma, im.blur_sigma2), im.defocus_sigma));
  return std::max(psf + halo, defocus) + 1;
}

// Illumination gain: two slow cosines and an optional vignette.
float gain_at(const Scene& scene, int gx, int gy, float scale) {
  const Imaging& im = scene.imaging;
  float g = (1.0f + scale * im.illum_ax * std::cos(im.illum_fx * static_cast<float>(gx) + im.illum_px)) *
            (1.0f + scale * im.illum_ay * std::cos(im.illum_fy * static_cast<float>(gy) + im.illum_py));
  if (im.vignette > 0) {
    float hw = 0.5f * static_cast<float>(scene.width), hh = 0.5f * static_cast<float>(scene.height);
    float dx = static_cast<float>(gx) + 0.5f - hw, dy = static_cast<float>(gy) + 0.5f - hh;
    g *= 1.0f - scale * im.vignette * (dx * dx + dy * dy) / (hw * hw + hh * hh);
  }
  return g;
}

// Camera noise of one value: Poisson-Gaussian (shot noise grows with the signal), plus the
// fixed pattern of the sensor (per-pixel offsets, column offsets, hot pixels).
float camera(const Imaging& im, float v, float normal, int gx, int gy) {
  v += std::sqrt(im.shot_noise * std::max(v, 0.0f) + im.read_noise * im.read_noise) * normal;
  if (im.pattern_noise > 0) v += im.pattern_noise * hash_normal(hash2(im.noise_seed ^ kPatternStream, gx, gy));
  if (im.column_noise > 0) v += im.column_noise * hash_normal(hash2(im.noise_seed ^ kColumnStream, gx, 0));
  if (im.hot_pixels > 0) {
    uint64_t h = hash2(im.noise_seed ^ kHotStream, gx, gy);
    if (unit_float(h) < im.hot_pixels) v += 0.4f + 0.6f * unit_float(mix64(h));
  }
  return v;
}

// RGB in [0, 1] (before clipping) of every pixel of `work` from the blurred planes.
void colour(const Scene& scene, const Planes& p, const cv::Mat& hp, const cv::Rect& work, cv::Mat& rgb) {
  const Imaging& im = scene.imaging;
  const float half_w = 0.5f * static_cast<float>(scene.width), half_h = 0.5f * static_cast<float>(scene.height);
  const bool absorbing = im.style == Style::brightfield || im.style == Style::histology || im.style == Style::ihc;
  for (int y = 0; y < work.height; ++y) {
    const int gy = work.y + y;
    const float* a = p.a.ptr<float>(gy - p.ext.y) + (work.x - p.ext.x);
    const float* b = p.b.empty() ? nullptr : p.b.ptr<float>(gy - p.ext.y) + (work.x - p.ext.x);
    const float* h = hp.empty() ? nullptr : hp.ptr<float>(gy - p.ext.y) + (work.x - p.ext.x);
    cv::Vec3f* out = rgb.ptr<cv::Vec3f>(y);
    for (int x = 0; x < work.width; ++x) {
      const int gx = work.x + x;
      const uint64_t hash = hash2(im.noise_seed, gx, gy);
      const float shared = hash_normal(hash);
      if (absorbing) {
        const float gain = gain_at(scene, gx, gy, 0.5f);
        const uint64_t h2 = mix64(hash);
        for (int c = 0; c < 3; ++c) {
          const size_t ci = static_cast<size_t>(c);
          float od = a[x] * im.tint[ci] + (b ? b[x] * im.tint2[ci] : 0.0f);
          float own = (static_cast<float>((h2 >> (16 * c)) & 0xFFFF) * (1.0f / 65536.0f) - 0.5f) * 3.4641f;
          out[x][c] = camera(im, im.white[ci] * gain * std::exp(-od), 0.8f * shared + 0.6f * own, gx, gy);
        }
        continue;
      }
      float v;
      if (im.style == Style::phase) {
        v = im.background * gain_at(scene, gx, gy, 0.5f) * (1.0f - im.contrast * h[x]);
      } else {
        v = a[x] * gain_at(scene, gx, gy, 1.0f) + im.offset_gx * (static_cast<float>(gx) - half_w) +
            im.offset_gy * (static_cast<float>(gy) - half_h);
      }
      v = camera(im, v, shared, gx, gy);
      out[x] = cv::Vec3f(v * im.tint[0], v * im.tint[1], v * im.tint[2]);
    }
  }
}

inline uint8_t to_byte(float v) { return static_cast<uint8_t>(std::clamp(v * 255.0f + 0.5f, 0.0f, 255.0f)); }

}  // namespace

void render_region(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& region,
                   cv::Mat& rgba) {
  const Imaging& im = scene.imaging;
  const cv::Rect image(0, 0, scene.width, scene.height);
  // JPEG blocks lie on the image's 8x8 grid: compute whole blocks, keep the region.
  cv::Rect work = region;
  if (im.jpeg_quality > 0) {
    int x0 = region.x / 8 * 8, y0 = region.y / 8 * 8;
    int x1 = (region.br().x + 7) / 8 * 8, y1 = (region.br().y + 7) / 8 * 8;
    work = cv::Rect(x0, y0, x1 - x0, y1 - y0) & image;
  }
  const int margin = optics_margin(im);
  const cv::Rect ext = cv::Rect(work.x - margin, work.y - margin, work.width + 2 * margin, work.height + 2 * margin) & image;

  Planes p = paint_planes(scene, labels, owner, ext);
  optics(scene, p.a, p.qa, ext);
  optics(scene, p.b, p.qb, ext);
  cv::Mat hp;  // phase: optical path minus its halo-wide average (the phase ring's high pass)
  if (im.style == Style::phase) {
    gaussian(p.a, hp, im.halo_sigma);
    hp = p.a - im.halo * hp;
  }

  cv::Mat rgb(work.size(), CV_32FC3);
  colour(scene, p, hp, work, rgb);
  if (im.jpeg_quality > 0) jpeg_blocks(rgb, work.tl(), image.size(), im.jpeg_quality);

  for (int y = 0; y < region.height; ++y) {
    const cv::Vec3f* in = rgb.ptr<cv::Vec3f>(region.y - work.y + y) + (region.x - work.x);
    uint8_t* out = rgba.ptr<uint8_t>(region.y + y) + 4 * region.x;
    for (int x = 0; x < region.width; ++x, out += 4) {
      out[0] = to_byte(in[x][0]);
      out[1] = to_byte(in[x][1]);
      out[2] = to_byte(in[x][2]);
      out[3] = 255;
    }
  }
}

}  // namespace nucseg::synth::detail
