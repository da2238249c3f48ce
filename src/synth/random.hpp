// Portable, position-addressable randomness for the generator. std::*_distribution output
// differs between standard libraries; these functions give the same bytes everywhere, and the
// hash-based fields depend only on (seed, x, y), so an image rendered tile by tile equals the
// image rendered at once.
#pragma once

#include <cmath>
#include <cstdint>

namespace nucseg::synth::detail {

inline uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline uint64_t hash2(uint64_t seed, int x, int y) {
  return mix64(seed ^ ((static_cast<uint64_t>(static_cast<uint32_t>(x)) << 32) | static_cast<uint32_t>(y)));
}

inline float unit_float(uint64_t bits) { return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f); }

// Approximately standard normal from one hash: Irwin-Hall sum of four 16-bit uniforms.
inline float hash_normal(uint64_t h) {
  float s = static_cast<float>((h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48));
  return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

// Smooth lattice value noise in [0, 1) at (x, y) measured in lattice cells.
inline float value_noise(uint64_t seed, float x, float y) {
  float fx = std::floor(x), fy = std::floor(y);
  int ix = static_cast<int>(fx), iy = static_cast<int>(fy);
  float tx = x - fx, ty = y - fy;
  tx = tx * tx * (3.0f - 2.0f * tx);
  ty = ty * ty * (3.0f - 2.0f * ty);
  float v00 = unit_float(hash2(seed, ix, iy)), v10 = unit_float(hash2(seed, ix + 1, iy));
  float v01 = unit_float(hash2(seed, ix, iy + 1)), v11 = unit_float(hash2(seed, ix + 1, iy + 1));
  float a = v00 + (v10 - v00) * tx, b = v01 + (v11 - v01) * tx;
  return a + (b - a) * ty;
}

// Two-octave value noise centred on 0 (roughly -0.5 .. 0.5); `scale` is the feature size in px.
inline float texture_noise(uint64_t seed, float x, float y, float scale) {
  float inv = 1.0f / scale;
  return 0.65f * value_noise(seed, x * inv, y * inv) + 0.35f * value_noise(seed + 1, x * inv * 2.3f, y * inv * 2.3f) -
         0.5f;
}

// Sequential generator for scene layout (xoshiro-style quality is not needed; splitmix64 is
// fast, passes BigCrush and is trivially seeded).
class Rng final {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(uniform() * (hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(6.283185307179586 * v);
  }
  double log_uniform(double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); }

 private:
  uint64_t state_;
};

}  // namespace nucseg::synth::detail
