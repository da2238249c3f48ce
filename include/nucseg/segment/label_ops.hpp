// Building blocks shared by the instance pipelines (network output and classical baseline):
// a marker-driven priority flood (watershed) and the clean-up steps on label images.
// Labels are CV_32SC1, 0 = background. Every function is linear in the number of pixels.
#pragma once

#include <opencv2/core.hpp>

namespace nucseg::segment {

// Grows the markers (CV_32SC1, >0 = seed label, 0 = unassigned) into the pixels where
// mask (CV_8UC1) is non-zero, lowest elevation (CV_32FC1) first, 4-connected. Elevation is
// quantised to `levels` buckets over its range inside the mask: a bucket queue with FIFO order
// per level makes plateaus split halfway between seeds (geodesic distance), as a touching
// pair separated by a uniform border band needs. Pixels unreachable from a seed stay 0.
void flood_markers(const cv::Mat& elevation, const cv::Mat& mask, cv::Mat& markers, int levels = 256);

// Connected components (8-connected) of the still-unassigned mask pixels become new labels
// after the current maximum: foreground without a confident seed is kept, not dropped.
void label_unassigned(const cv::Mat& mask, cv::Mat& labels);

// Sets objects with fewer than min_area pixels to 0.
void remove_small_objects(cv::Mat& labels, int min_area);

// Sets objects whose solidity (pixels / convex-hull pixels, as ObjectTable::solidity and
// skimage's regionprops) is below min_solidity to 0; min_solidity <= 0 keeps every object.
// Memory grows with the largest label value, as remove_small_objects': for the instance
// step's dense labels (at most one per pixel), not for arbitrary label values.
void remove_ragged_objects(cv::Mat& labels, double min_solidity);

// Sets objects whose mean of confidence (CV_8UC1, 0..255 read as 0..1; the size of labels) over
// their pixels is below min_mean to 0 and returns how many; min_mean <= 0 keeps every object.
// Memory as remove_small_objects'.
int remove_unsure_objects(cv::Mat& labels, const cv::Mat& confidence, double min_mean);

// Fills background regions (4-connected) that do not touch the image edge and border exactly
// one object with that object's label.
void fill_holes(cv::Mat& labels);

// Renumbers labels to 1..N in raster order of first appearance; returns N.
int relabel_sequential(cv::Mat& labels);

// Largest label value (0 for an all-background image).
int max_label(const cv::Mat& labels);

}  // namespace nucseg::segment
