// The per-object measurement table: columnar, one row per nucleus, so that it maps 1:1 onto
// the HDF5 "objects" group (docs/formats.md) and onto a pandas DataFrame.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace nucseg {

struct ObjectTable {
  std::vector<std::string> image_id;
  std::vector<int32_t> label;
  std::vector<double> area;  // pixels
  std::vector<double> centroid_row, centroid_col;
  std::vector<int32_t> bbox_min_row, bbox_min_col, bbox_max_row, bbox_max_col;  // max exclusive
  std::vector<double> equivalent_diameter;
  std::vector<double> major_axis_length, minor_axis_length;
  std::vector<double> eccentricity;
  std::vector<double> orientation;  // radians, skimage convention
  std::vector<double> solidity;
  std::vector<double> perimeter;
  std::vector<double> mean_intensity, min_intensity, max_intensity;
  // Per source channel k of the raw image (raw values, not normalised), one value per row:
  // the mean and the sum over the object's pixels (columns mean_intensity_c<k>,
  // integrated_intensity_c<k>). Empty when no raw image was measured.
  std::vector<std::vector<double>> channel_mean, channel_integrated;

  size_t size() const { return label.size(); }
  size_t channels() const { return channel_mean.size(); }

  void append(const ObjectTable& o) {
    auto cat = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
    cat(image_id, o.image_id);
    cat(label, o.label);
    cat(area, o.area);
    cat(centroid_row, o.centroid_row);
    cat(centroid_col, o.centroid_col);
    cat(bbox_min_row, o.bbox_min_row);
    cat(bbox_min_col, o.bbox_min_col);
    cat(bbox_max_row, o.bbox_max_row);
    cat(bbox_max_col, o.bbox_max_col);
    cat(equivalent_diameter, o.equivalent_diameter);
    cat(major_axis_length, o.major_axis_length);
    cat(minor_axis_length, o.minor_axis_length);
    cat(eccentricity, o.eccentricity);
    cat(orientation, o.orientation);
    cat(solidity, o.solidity);
    cat(perimeter, o.perimeter);
    cat(mean_intensity, o.mean_intensity);
    cat(min_intensity, o.min_intensity);
    cat(max_intensity, o.max_intensity);
    // Tables of images with different channel counts: missing channels are NaN.
    const size_t rows_before = size() - o.size(), n = std::max(channels(), o.channels());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (auto* per_channel : {&channel_mean, &channel_integrated}) per_channel->resize(n, std::vector<double>(rows_before, nan));
    for (size_t k = 0; k < n; ++k) {
      if (k < o.channels()) {
        cat(channel_mean[k], o.channel_mean[k]);
        cat(channel_integrated[k], o.channel_integrated[k]);
      } else {
        channel_mean[k].resize(size(), nan);
        channel_integrated[k].resize(size(), nan);
      }
    }
  }
};

}  // namespace nucseg
