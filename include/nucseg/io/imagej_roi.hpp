// ImageJ's binary ROI format (the .roi files of Fiji's ROI Manager; ij/io/RoiEncoder.java):
// a 64-byte big-endian header ("Iout", version 227, type, bounding box, coordinate count),
// the x then the y coordinates as int16 relative to the box's left/top, and a 64-byte second
// header holding the ROI's name (UTF-16). Only polygons (type 0) with integer vertices are
// written: ImageJ reads integer polygon vertices as pixel corners, so a polygon that runs along
// pixel edges selects exactly the pixels it encloses.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace nucseg::io {

// The largest coordinate a basic ROI header holds (ImageJ reads header fields above 32767 as
// unsigned up to about 60000; kept below that).
constexpr int kMaxRoiCoordinate = 60000;

// One polygon ROI. `vertices`: x (column) and y (row) of each corner, in order, at most 65535 of
// them, all within 0..kMaxRoiCoordinate; `name`: shown by the ROI Manager. Error(runtime)
// otherwise.
std::string encode_polygon_roi(const std::vector<cv::Point>& vertices, const std::string& name);

}  // namespace nucseg::io
