// Instance labels from one annotation mask image: the flat layout's masks, read the same way
// by nucseg_pack and nucseg_eval (pack.mask_kind).
//
//   labels  an instance label image, as StarDist, Cellpose, napari and Fiji store annotations
//           (and as infer.export_labels writes them): each distinct non-zero value is one
//           nucleus, whether or not its pixels touch. 8/16-bit PNG, 8/16/32-bit TIFF; a
//           colour-coded label image (each nucleus its own colour) works too.
//   binary  non-zero pixels are nuclei; each 8-connected component is one (touching nuclei
//           merge: this is what a binary mask can say).
//   auto    labels when the mask holds more than two distinct values, else binary. JPEG masks
//           are always binary under auto: lossy compression smears two values into many. So
//           is an 8/16-bit binary mask with smoothed edges (anti-aliased, resampled, blurred): 9 in
//           10 of its values between 0 and the maximum lie on ramps (a higher and a lower
//           neighbour), where a label image holds one plateau per nucleus.
//   A binary reading of a JPEG or smoothed mask keeps the pixels above half the maximum.
//
// Before deciding, channels that are the same everywhere are dropped (a constant alpha; white
// RGB over an alpha that holds the nuclei) and identical colour channels are read as one.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "nucseg/io/image.hpp"

namespace nucseg::io {

enum class MaskKind { automatic, labels, binary };

const char* mask_kind_name(MaskKind kind);  // "auto", "labels", "binary"
MaskKind parse_mask_kind(const std::string& name, const std::string& key = "pack.mask_kind");  // Error(config) naming key

// CV_32SC1 labels: 0 background, 1..N; label values are renumbered in increasing order of the
// mask's values (binary: connected components in raster order). `used`, when given, receives
// the kind applied (labels or binary). Error(data) naming `file` for a mask whose pixels cannot
// be keys (more than 64 bits per pixel over its channels).
cv::Mat labels_from_mask(const RawImage& mask, MaskKind kind, const std::string& file, MaskKind* used = nullptr);

// CV_8UC1, 255 where any channel of the mask is non-zero (after the channel rule above), or
// above half of that channel's maximum in a JPEG mask or a smoothed binary mask (see above).
cv::Mat mask_foreground(const RawImage& mask);

// Why instance labels (CV_32SC1) look unlike an annotation of nuclei, or "" when nothing does:
// one object covering more than half the image and touching all four of its edges is the
// background read as a nucleus far more often than a nucleus. For a warning, not a rejection:
// a crop of one large nucleus can look the same.
std::string annotation_doubt(const cv::Mat& labels);

}  // namespace nucseg::io
