// Label images as TIFF files other tools open as they are (Fiji, napari/tifffile, QuPath,
// CellProfiler): one page, one sample of unsigned integers (16-bit, or 32-bit when a label
// exceeds 65535; never float), deflate-compressed. With a known pixel size the file carries it
// the way ImageJ writes it (XResolution = pixels per micron, ResolutionUnit none, ImageDescription
// "ImageJ=1.11a\nunit=micron\n"), which Fiji shows as the image's scale and
// io::pixel_size_from_tiff reads back.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace nucseg::io {

// `labels`: CV_16UC1, or CV_32SC1 with non-negative values (written as uint32). `pixel_size_um`:
// 0 for unknown. Returns the file's bytes; Error(runtime) naming `name` when libtiff refuses.
std::string encode_label_tiff(const cv::Mat& labels, double pixel_size_um, const std::string& name);

}  // namespace nucseg::io
