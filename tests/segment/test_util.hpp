// Helpers shared by the segment and eval tests: synthetic label images, the class map a
// trainer derives from them, .npy files for the Python cross-checks, and running a script.
#pragma once

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace nucseg::test {

inline void paint_disc(cv::Mat& labels, double cy, double cx, double r, int label) {
  cv::circle(labels, cv::Point(static_cast<int>(cx * 16), static_cast<int>(cy * 16)), static_cast<int>(r * 16),
             cv::Scalar(label), cv::FILLED, cv::LINE_8, 4);
}

// n discs of radius [rmin, rmax]; about half placed touching a previous disc (overlap cut by
// painting order), the rest anywhere not overlapping an earlier disc.
inline cv::Mat touching_discs(int rows, int cols, int n, double rmin, double rmax, uint32_t seed) {
  cv::Mat labels = cv::Mat::zeros(rows, cols, CV_32SC1);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::array<double, 3>> placed;
  int label = 0;
  for (int tries = 0; tries < n * 50 && label < n; ++tries) {
    const double r = rmin + (rmax - rmin) * u(rng);
    double y = r + 1 + (rows - 2 * r - 2) * u(rng), x = r + 1 + (cols - 2 * r - 2) * u(rng);
    bool touching = false;
    if (!placed.empty() && u(rng) < 0.5) {
      const auto& p = placed[static_cast<size_t>(rng() % placed.size())];
      const double a = 6.2831853 * u(rng), d = (p[2] + r) * 0.85;
      y = p[0] + d * std::sin(a);
      x = p[1] + d * std::cos(a);
      if (y < r + 1 || x < r + 1 || y > rows - r - 2 || x > cols - r - 2) continue;
      touching = true;
    }
    bool ok = true;
    for (const auto& p : placed) {
      const double need = touching ? 0.75 * (p[2] + r) : p[2] + r + 2;
      if (std::hypot(p[0] - y, p[1] - x) < need) { ok = false; break; }
    }
    if (!ok) continue;
    paint_disc(labels, y, x, r, ++label);
    placed.push_back({y, x, r});
  }
  return labels;
}

// Class map as a trainer derives it: interior = label pixels farther than border_width
// (chessboard) from background or another label; border = the other label pixels.
inline cv::Mat class_map_from_labels(const cv::Mat& labels, int border_width) {
  cv::Mat cls = cv::Mat::zeros(labels.size(), CV_8UC1);
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * border_width + 1, 2 * border_width + 1));
  double hi = 0;
  cv::minMaxLoc(labels, nullptr, &hi);
  cls.setTo(2, labels > 0);
  // Interior of each label: erosion of its own mask (treating other labels as outside).
  cv::Mat lo_nb, hi_nb;
  cv::Mat as_float;
  labels.convertTo(as_float, CV_32F);
  cv::erode(as_float, lo_nb, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::dilate(as_float, hi_nb, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cls.setTo(1, (labels > 0) & (lo_nb == as_float) & (hi_nb == as_float));
  return cls;
}

// Writes a 2-D CV_32SC1 / CV_32FC1 / CV_64FC1 / CV_8UC1 matrix as a NumPy .npy (v1.0) file.
inline void write_npy(const std::string& path, const cv::Mat& m) {
  const char* descr = m.type() == CV_32SC1 ? "<i4" : m.type() == CV_32FC1 ? "<f4" : m.type() == CV_64FC1 ? "<f8" : "|u1";
  if (m.type() != CV_32SC1 && m.type() != CV_32FC1 && m.type() != CV_64FC1 && m.type() != CV_8UC1)
    throw std::runtime_error("write_npy: unsupported type");
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(m.rows) + ", " + std::to_string(m.cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<uint16_t>(header.size());
  const char lenb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(lenb, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  f.write(reinterpret_cast<const char*>(c.data), static_cast<std::streamsize>(c.total() * c.elemSize()));
  if (!f) throw std::runtime_error("write_npy: cannot write " + path);
}

// Runs a command, returns its stdout; throws with the output when it exits non-zero, so a
// missing Python module fails the test instead of skipping it.
inline std::string run_command(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + cmd + "\n" + out);
  return out;
}

inline std::string python3() {
  const char* env = std::getenv("NUCSEG_PYTHON3");
  return env && *env ? env : "/usr/bin/python3";
}

inline std::string source_dir() {
  const char* env = std::getenv("NUCSEG_SOURCE_DIR");
  if (!env) throw std::runtime_error("NUCSEG_SOURCE_DIR is not set (run the test through ctest)");
  return env;
}

}  // namespace nucseg::test
