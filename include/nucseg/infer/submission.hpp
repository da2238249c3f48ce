// infer.export_rle: <output>/submission.csv in the layout of the Kaggle Data Science Bowl 2018
// (header ImageId,EncodedPixels; run-length encoding of segment/kaggle_rle.hpp): one row per
// nucleus, by ascending label, images in the order of segmentation.h5's /index; an image
// without nuclei gets one row with an empty EncodedPixels, so every segmented image is listed.
// Images that failed (the failures table) have no result and no row. Ids containing a comma
// or a quote are quoted (RFC 4180); Kaggle ids never are.
#pragma once

#include <filesystem>

namespace nucseg::infer {

struct SubmissionSummary {
  long images = 0;
  long rows = 0;  // nuclei, plus one per image without any
};

// Rank 0, after assemble_segmentation: reads the labels of every image in
// <output_dir>/segmentation.h5 and writes submission.csv atomically (temporary sibling,
// fsync, rename). Error(data) naming segmentation.h5 when it does not read back.
SubmissionSummary write_submission(const std::filesystem::path& output_dir);

}  // namespace nucseg::infer
