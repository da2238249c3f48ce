// Rendering of one image region from the scene and its labels: stain/signal planes, blur
// (the microscope's PSF), illumination, colour and noise. Every term is a function of the
// global pixel position, and the blur reads a margin around the region, so a big image
// rendered tile by tile is the same as one rendered at once.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "random.hpp"
#include "scene.hpp"

namespace nucseg::synth::detail {
namespace {

cv::Rect clip(const cv::Rect& r, int w, int h) { return r & cv::Rect(0, 0, w, h); }

// Background of each plane: mottled for absorbing styles, fibrous eosin stroma for histology.
void paint_background(const Scene& scene, const cv::Rect& ext, cv::Mat& p0, cv::Mat& p1) {
  const Imaging& im = scene.imaging;
  const uint64_t seed = im.noise_seed;
  const float ca = std::cos(im.illum_px), sa = std::sin(im.illum_px);  // fibre direction
  for (int y = 0; y < ext.height; ++y) {
    float* a = p0.ptr<float>(y);
    float* b = im.style == Style::histology ? p1.ptr<float>(y) : nullptr;
    const float gy = static_cast<float>(y + ext.y);
    for (int x = 0; x < ext.width; ++x) {
      const float gx = static_cast<float>(x + ext.x);
      switch (im.style) {
        case Style::fluorescence: a[x] = im.background; break;
        case Style::brightfield: a[x] = im.background * (1.0f + 0.8f * texture_noise(seed + 11, gx, gy, 18.0f)); break;
        case Style::histology: {
          a[x] = im.background * (1.0f + 0.6f * texture_noise(seed + 11, gx, gy, 14.0f));
          float u = gx * ca + gy * sa, v = -gx * sa + gy * ca;
          // Wavy fibres: the fibre coordinate is bent by a slow noise field.
          float bend = 12.0f * value_noise(seed + 24, gx / 40.0f, gy / 40.0f);
          float fibre = value_noise(seed + 21, u / 30.0f, (v + bend) / 7.0f) * 0.5f +
                        value_noise(seed + 22, gx / 5.0f, gy / 5.0f) * 0.5f;
          float gaps = value_noise(seed + 23, gx / 70.0f, gy / 70.0f);  // loose tissue and lumen
          float open = std::clamp((gaps - 0.15f) / 0.2f, 0.1f, 1.0f);
          b[x] = im.stroma * (0.45f + 1.1f * fibre) * open;
          break;
        }
      }
    }
  }
}

// Faint cell bodies around nuclei in absorbing styles (they lower the contrast of the nucleus
// outline and make a global threshold less clean).
void paint_cytoplasm(const Scene& scene, const cv::Rect& ext, cv::Mat& plane) {
  const float amount = scene.imaging.cytoplasm;
  if (amount <= 0) return;
  for (const Nucleus& n : scene.nuclei) {
    float reach = 1.5f + 0.8f * unit_float(n.tex_seed);  // cell radius / nucleus radius
    float rb = n.bound * reach;
    cv::Rect box = clip(cv::Rect(static_cast<int>(n.cx - rb) - ext.x, static_cast<int>(n.cy - rb) - ext.y,
                                 static_cast<int>(2 * rb) + 2, static_cast<int>(2 * rb) + 2),
                        ext.width, ext.height);
    for (int y = box.y; y < box.br().y; ++y) {
      float* p = plane.ptr<float>(y);
      for (int x = box.x; x < box.br().x; ++x) {
        float dx = static_cast<float>(x + ext.x) + 0.5f - n.cx, dy = static_cast<float>(y + ext.y) + 0.5f - n.cy;
        float u = (dx * n.cos_t + dy * n.sin_t) / n.a, v = (-dx * n.sin_t + dy * n.cos_t) / n.b;
        float rho = std::sqrt(u * u + v * v);
        if (rho < reach) p[x] += amount * std::min(1.0f, (reach - rho) * 1.5f);
      }
    }
  }
}

void paint_nuclei(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& ext,
                  cv::Mat& p0, cv::Mat& p1) {
  const Imaging& im = scene.imaging;
  for (int y = 0; y < ext.height; ++y) {
    const int* l = labels.ptr<int>(y + ext.y) + ext.x;
    float* a = p0.ptr<float>(y);
    float* b = im.style == Style::histology ? p1.ptr<float>(y) : nullptr;
    const float gy = static_cast<float>(y + ext.y);
    for (int x = 0; x < ext.width; ++x) {
      if (l[x] == 0) continue;
      const Nucleus& n = scene.nuclei[static_cast<size_t>(owner[static_cast<size_t>(l[x] - 1)])];
      const float gx = static_cast<float>(x + ext.x);
      float s = std::min(1.0f, n.shape_s(gx + 0.5f, gy + 0.5f));
      float profile = 1.0f - n.edge * s * s * s;
      float tex = 1.0f + 2.0f * n.texture * texture_noise(n.tex_seed, gx, gy, n.tex_scale);
      a[x] += im.signal * n.intensity * profile * tex;
      if (b) b[x] *= 0.35f;  // the nucleus displaces the eosin-stained stroma
    }
  }
}

void paint_debris(const Scene& scene, const cv::Rect& ext, cv::Mat& p0, cv::Mat& p1) {
  const Imaging& im = scene.imaging;
  cv::Mat& plane = im.style == Style::histology ? p1 : p0;
  const float scale = im.style == Style::histology ? 1.2f : im.signal;
  for (const Debris& d : scene.debris) {
    float rb = 3.0f * d.r + 1.0f;
    cv::Rect box = clip(cv::Rect(static_cast<int>(d.cx - rb) - ext.x, static_cast<int>(d.cy - rb) - ext.y,
                                 static_cast<int>(2 * rb) + 2, static_cast<int>(2 * rb) + 2),
                        ext.width, ext.height);
    const float inv = 1.0f / (2.0f * d.r * d.r);
    for (int y = box.y; y < box.br().y; ++y) {
      float* p = plane.ptr<float>(y);
      for (int x = box.x; x < box.br().x; ++x) {
        float dx = static_cast<float>(x + ext.x) + 0.5f - d.cx, dy = static_cast<float>(y + ext.y) + 0.5f - d.cy;
        p[x] += scale * d.intensity * std::exp(-(dx * dx + dy * dy) * inv);
      }
    }
  }
}

inline uint8_t to_byte(float v) { return static_cast<uint8_t>(std::clamp(v * 255.0f + 0.5f, 0.0f, 255.0f)); }

}  // namespace

void render_region(const Scene& scene, const cv::Mat& labels, const std::vector<int>& owner, const cv::Rect& region,
                   cv::Mat& rgba) {
  const Imaging& im = scene.imaging;
  const int radius = static_cast<int>(std::ceil(3.0f * im.blur_sigma));
  const int margin = radius + 1;
  const cv::Rect ext = clip(cv::Rect(region.x - margin, region.y - margin, region.width + 2 * margin,
                                     region.height + 2 * margin),
                            scene.width, scene.height);
  cv::Mat p0(ext.size(), CV_32FC1), p1;
  if (im.style == Style::histology) p1.create(ext.size(), CV_32FC1);

  paint_background(scene, ext, p0, p1);
  if (im.style != Style::fluorescence) paint_cytoplasm(scene, ext, im.style == Style::histology ? p1 : p0);
  paint_nuclei(scene, labels, owner, ext, p0, p1);
  paint_debris(scene, ext, p0, p1);

  const cv::Size ksize(2 * radius + 1, 2 * radius + 1);
  cv::GaussianBlur(p0, p0, ksize, im.blur_sigma, im.blur_sigma, cv::BORDER_REFLECT_101);
  if (!p1.empty()) cv::GaussianBlur(p1, p1, ksize, im.blur_sigma, im.blur_sigma, cv::BORDER_REFLECT_101);

  // Illumination is separable: gain(x, y) = gx(x) * gy(y).
  const float illum_scale = im.style == Style::fluorescence ? 1.0f : 0.5f;
  std::vector<float> gain_x(static_cast<size_t>(region.width)), gain_y(static_cast<size_t>(region.height));
  for (int x = 0; x < region.width; ++x)
    gain_x[static_cast<size_t>(x)] = 1.0f + illum_scale * im.illum_ax * std::cos(im.illum_fx * static_cast<float>(region.x + x) + im.illum_px);
  for (int y = 0; y < region.height; ++y)
    gain_y[static_cast<size_t>(y)] = 1.0f + illum_scale * im.illum_ay * std::cos(im.illum_fy * static_cast<float>(region.y + y) + im.illum_py);

  const float half_w = 0.5f * static_cast<float>(scene.width), half_h = 0.5f * static_cast<float>(scene.height);
  const float white = 1.0f - 0.5f * im.background;
  for (int y = 0; y < region.height; ++y) {
    const int gy = region.y + y;
    const float* a = p0.ptr<float>(gy - ext.y) + (region.x - ext.x);
    const float* b = p1.empty() ? nullptr : p1.ptr<float>(gy - ext.y) + (region.x - ext.x);
    uint8_t* out = rgba.ptr<uint8_t>(gy) + 4 * region.x;
    for (int x = 0; x < region.width; ++x, out += 4) {
      const int gx = region.x + x;
      const float gain = gain_x[static_cast<size_t>(x)] * gain_y[static_cast<size_t>(y)];
      const uint64_t h = hash2(im.noise_seed, gx, gy);
      const float shared = hash_normal(h);
      out[3] = 255;
      if (im.style == Style::fluorescence) {
        float v = a[x] * gain + im.offset_gx * (static_cast<float>(gx) - half_w) + im.offset_gy * (static_cast<float>(gy) - half_h);
        v += std::sqrt(im.shot_noise * std::max(v, 0.0f) + im.read_noise * im.read_noise) * shared;
        out[0] = out[1] = out[2] = to_byte(v);
        continue;
      }
      const uint64_t h2 = mix64(h);
      for (int c = 0; c < 3; ++c) {
        const size_t ci = static_cast<size_t>(c);
        float od = a[x] * im.tint[ci] + (b ? b[x] * im.tint2[ci] : 0.0f);
        float v = white * gain * std::exp(-od);
        float own = (static_cast<float>((h2 >> (16 * c)) & 0xFFFF) * (1.0f / 65536.0f) - 0.5f) * 3.4641f;
        v += std::sqrt(im.shot_noise * std::max(v, 0.0f) + im.read_noise * im.read_noise) * (0.8f * shared + 0.6f * own);
        out[c] = to_byte(v);
      }
    }
  }
}

}  // namespace nucseg::synth::detail
