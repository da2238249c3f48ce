// JPEG-like artefacts without a codec: YCbCr, 8x8 DCT, quantisation with the JPEG standard
// tables (Annex K) scaled like the IJG library, inverse DCT. A codec would give different
// bytes in different library builds; this is plain float arithmetic.
#include <algorithm>
#include <array>
#include <cmath>

#include "paint.hpp"

namespace nucseg::synth::detail {
namespace {

constexpr std::array<int, 64> kLuma{16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                                    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                                    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                                    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
constexpr std::array<int, 64> kChroma{17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                                      24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
                                      99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
                                      99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

struct Tables {
  std::array<float, 64> basis;  // basis[u * 8 + x] = c(u) cos((2x + 1) u pi / 16)
  std::array<float, 64> luma, chroma;
};

Tables make_tables(int quality) {
  Tables t{};
  for (int u = 0; u < 8; ++u)
    for (int x = 0; x < 8; ++x)
      t.basis[static_cast<size_t>(u * 8 + x)] =
          static_cast<float>((u == 0 ? std::sqrt(0.125) : 0.5) * std::cos((2 * x + 1) * u * 3.14159265358979 / 16));
  const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  for (size_t i = 0; i < 64; ++i) {
    t.luma[i] = static_cast<float>(std::clamp((kLuma[i] * scale + 50) / 100, 1, 255));
    t.chroma[i] = static_cast<float>(std::clamp((kChroma[i] * scale + 50) / 100, 1, 255));
  }
  return t;
}

// Separable 8x8 DCT, quantisation, inverse DCT of one block in place.
void quantise_block(std::array<float, 64>& v, const Tables& t, const std::array<float, 64>& q) {
  std::array<float, 64> tmp{}, c{};
  for (int y = 0; y < 8; ++y)
    for (int u = 0; u < 8; ++u) {
      float s = 0;
      for (int x = 0; x < 8; ++x) s += t.basis[static_cast<size_t>(u * 8 + x)] * v[static_cast<size_t>(y * 8 + x)];
      tmp[static_cast<size_t>(y * 8 + u)] = s;
    }
  for (int w = 0; w < 8; ++w)
    for (int u = 0; u < 8; ++u) {
      float s = 0;
      for (int y = 0; y < 8; ++y) s += t.basis[static_cast<size_t>(w * 8 + y)] * tmp[static_cast<size_t>(y * 8 + u)];
      const size_t k = static_cast<size_t>(w * 8 + u);
      c[k] = std::nearbyint(s / q[k]) * q[k];
    }
  for (int w = 0; w < 8; ++w)
    for (int x = 0; x < 8; ++x) {
      float s = 0;
      for (int u = 0; u < 8; ++u) s += t.basis[static_cast<size_t>(u * 8 + x)] * c[static_cast<size_t>(w * 8 + u)];
      tmp[static_cast<size_t>(w * 8 + x)] = s;
    }
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      float s = 0;
      for (int w = 0; w < 8; ++w) s += t.basis[static_cast<size_t>(w * 8 + y)] * tmp[static_cast<size_t>(w * 8 + x)];
      v[static_cast<size_t>(y * 8 + x)] = s;
    }
}

}  // namespace

void jpeg_blocks(cv::Mat& rgb, cv::Point origin, cv::Size image, int quality) {
  const Tables t = make_tables(std::clamp(quality, 1, 100));
  std::array<std::array<float, 64>, 3> ycc{};
  for (int by = 0; by < rgb.rows; by += 8) {
    for (int bx = 0; bx < rgb.cols; bx += 8) {
      // Pixels past the image edge repeat the edge; the region ends on a block or image edge.
      const int ny = std::min(8, image.height - (origin.y + by)), nx = std::min(8, image.width - (origin.x + bx));
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
          const cv::Vec3f& p = rgb.at<cv::Vec3f>(by + std::min(y, ny - 1), bx + std::min(x, nx - 1));
          const float r = 255 * p[0], g = 255 * p[1], b = 255 * p[2];
          const size_t k = static_cast<size_t>(y * 8 + x);
          ycc[0][k] = 0.299f * r + 0.587f * g + 0.114f * b - 128;
          ycc[1][k] = -0.168736f * r - 0.331264f * g + 0.5f * b;
          ycc[2][k] = 0.5f * r - 0.418688f * g - 0.081312f * b;
        }
      quantise_block(ycc[0], t, t.luma);
      quantise_block(ycc[1], t, t.chroma);
      quantise_block(ycc[2], t, t.chroma);
      for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
          const size_t k = static_cast<size_t>(y * 8 + x);
          const float l = ycc[0][k] + 128, cb = ycc[1][k], cr = ycc[2][k];
          cv::Vec3f& p = rgb.at<cv::Vec3f>(by + y, bx + x);
          p[0] = (l + 1.402f * cr) / 255;
          p[1] = (l - 0.344136f * cb - 0.714136f * cr) / 255;
          p[2] = (l + 1.772f * cb) / 255;
        }
    }
  }
}

}  // namespace nucseg::synth::detail
