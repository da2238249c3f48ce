// Per-object measurements (the skimage.measure.regionprops set) gathered in one pass over the
// pixels, so 8192x8192 images with 100k objects cost a few image passes, not one per object.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "nucseg/segment/objects.hpp"

namespace nucseg::segment {

// labels: CV_32SC1 (or CV_16UC1), 0 background; labels need not be consecutive.
// intensity: CV_8U / CV_16U / CV_32F with 1..4 channels (several channels: their mean), of the
// labels' size; empty: the intensity columns are NaN.
// One row per label present, in increasing label order. Conventions (docs/eval.md):
// centroid (row, col); bbox min inclusive / max exclusive; major/minor axis 4*sqrt(eigenvalue)
// of the inertia tensor; orientation as skimage (radians in [-pi/2, pi/2], angle between the
// row axis and the major axis); perimeter is skimage's 4-connectivity perimeter; solidity is
// area / pixels whose centres lie in the convex hull of the pixels' edge midpoints (skimage's
// convex_image).
ObjectTable measure_objects(const std::string& image_id, const cv::Mat& labels, const cv::Mat& intensity);

// Per-channel intensities: sets table.channel_mean / channel_integrated (one vector per channel
// of `raw`, one value per table row) to the mean and the sum of `raw`'s values over the pixels
// of each row's label. raw: CV_8U / CV_16U / CV_32F with any number of channels (source order),
// of the labels' size; labels: as for measure_objects. A row whose label has no pixel gets a NaN
// mean and a zero sum. Throws Error(runtime) for other types or sizes.
void measure_channels(const cv::Mat& labels, const cv::Mat& raw, ObjectTable& table);

}  // namespace nucseg::segment
