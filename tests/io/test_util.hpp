// Small generated datasets for the io and pack tests (deterministic for a seed).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace nucseg::testing {

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("nucseg_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_png(const std::filesystem::path& path, const cv::Mat& m) {
  std::filesystem::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), m)) throw std::runtime_error("fixture: cannot write " + path.string());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Non-overlapping ellipses: one binary mask each (some touch), and a BGRA image of them.
struct Scene {
  cv::Mat image;               // CV_8UC4 (BGRA, like Kaggle's PNGs)
  std::vector<cv::Mat> masks;  // CV_8UC1, 0/255
};

inline Scene make_scene(cv::Size size, int nuclei, uint64_t seed) {
  cv::RNG rng(seed);
  Scene s;
  cv::Mat taken(size, CV_8UC1, cv::Scalar(0));
  for (int k = 0; k < nuclei; ++k) {
    cv::Mat m(size, CV_8UC1, cv::Scalar(0));
    cv::Point c(rng.uniform(4, size.width - 4), rng.uniform(4, size.height - 4));
    cv::Size axes(rng.uniform(3, 9), rng.uniform(3, 9));
    cv::ellipse(m, c, axes, rng.uniform(0.0, 180.0), 0, 360, cv::Scalar(255), cv::FILLED);
    m.setTo(0, taken);
    if (cv::countNonZero(m) < 6) continue;
    taken |= m;
    s.masks.push_back(m);
  }
  cv::Mat gray(size, CV_8UC1);
  rng.fill(gray, cv::RNG::UNIFORM, 10, 40);
  gray.setTo(200, taken);
  cv::Mat channels[] = {gray, gray * 0.9, gray * 0.8, cv::Mat(size, CV_8UC1, cv::Scalar(255))};
  cv::merge(channels, 4, s.image);
  return s;
}

// <root>/<id>/images/<id>.png + <root>/<id>/masks/<k>.png for ids img00, img01, ...
inline std::vector<std::string> write_kaggle(const std::filesystem::path& root, int count, uint64_t seed = 7,
                                             cv::Size size = {48, 40}) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "img%02d", i);
    auto scene = make_scene(size, 12, seed * 1000 + static_cast<uint64_t>(i));
    write_png(root / id / "images" / (std::string(id) + ".png"), scene.image);
    for (size_t k = 0; k < scene.masks.size(); ++k)
      write_png(root / id / "masks" / ("m" + std::to_string(100 + k) + ".png"), scene.masks[k]);
    ids.push_back(id);
  }
  return ids;
}

// <root>/images/<id>.png + <root>/masks/<id>.png (one binary mask per image).
inline std::vector<std::string> write_flat(const std::filesystem::path& root, int count, uint64_t seed = 9,
                                           cv::Size size = {40, 36}) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    std::string id = "f" + std::to_string(i);
    auto scene = make_scene(size, 8, seed * 1000 + static_cast<uint64_t>(i));
    cv::Mat all(size, CV_8UC1, cv::Scalar(0));
    for (const auto& m : scene.masks) all |= m;
    cv::Mat bgr;
    cv::cvtColor(scene.image, bgr, cv::COLOR_BGRA2BGR);
    write_png(root / "images" / (id + ".png"), bgr);
    write_png(root / "masks" / (id + ".png"), all);
    ids.push_back(id);
  }
  return ids;
}

}  // namespace nucseg::testing
