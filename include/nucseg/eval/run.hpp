// nucseg_eval's library entry: scores a nucseg_infer result (segmentation.h5) against ground
// truth and writes the report. The truth is either
//   - a dataset folder with instance masks (Kaggle layout <id>/images/<id>.png +
//     <id>/masks/*.png, the flat or the paired layout): each truth image's expected prediction
//     id is the id nucseg_infer gives it when it segments the truth folder (io::image_ids of the
//     paths infer's walk lists there, relative to the truth folder, a flat layout's images to
//     its images/ folder: the plain Kaggle id or the sanitised file stem, with infer's hash
//     suffix where names collide; see docs/inference.md, "Image ids"), or
//   - a Kaggle DSB 2018 run-length CSV (a file): stage1_train_labels.csv (ImageId,
//     EncodedPixels) or the stage 1 solution (ImageId,EncodedPixels,Height,Width,Usage), ids
//     as written there, looked up in /index/image_id of segmentation.h5. An image's size is
//     the file's, else its prediction's; rows with Usage "Ignored" are not scored.
// Reports name truth images by their dataset id.
// A truth image without a prediction scores 0 (warning); predictions without truth are ignored
// (warning); a truth image whose annotations cannot be listed, or whose image or masks cannot be
// read, is not scored (warning, listed, exit 3). When not one truth image has a prediction (a
// segmentation.h5 of other images, or ids that do not line up) nothing is scored: Error(config)
// naming a truth id and a predicted id; when not one can be read, Error(data).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/eval/evaluate.hpp"

namespace nucseg::eval {

// A truth image the dataset listing could not pair with its annotations (masks/ a file or
// unreadable, no mask for a flat image), or whose image or a mask could not be read (cut short,
// empty, a mask of another size): left out of the score, reported, exit 3.
struct NotScored {
  std::string id;    // the prediction id infer gives that image ("" when it cannot be told)
  std::string path;  // the folder or file at fault
  std::string reason;
};

struct EvalRun {
  EvalResult result;
  std::vector<std::string> missing;  // truth ids without a prediction (scored 0)
  std::vector<std::string> ignored;  // prediction ids without truth
  std::vector<NotScored> not_scored;  // truth images whose annotations could not be listed or read
  std::vector<NotScored> unreadable;  // predictions whose result file could not be read (also in missing)
};

// eval.pred as given, or <folder>/segmentation.h5 when it names a folder holding one (the
// infer.output folder); Error(config) for a missing file or a folder without it.
std::filesystem::path prediction_file(const std::filesystem::path& pred);

// Reads and scores; throws Error(config) for a missing truth folder or CSV / prediction file
// (pred goes through prediction_file), or a prediction file without any truth image, and
// Error(data) for an unreadable prediction file or CSV, or a truth folder of which not one
// image can be read (naming a file and why); one unreadable truth image is in not_scored.
EvalRun evaluate_prediction_file(const std::filesystem::path& truth, const std::filesystem::path& pred, int threads);

// The JSON report: top-level "score" (Kaggle DSB 2018, mean over images), "images" (count),
// "truth", "pred", "missing", "ignored", "not_scored" ({"id", "path", "reason"} each), and
// "report" (to_json's full per-image report).
std::string report_json(const EvalRun& run, const std::string& truth, const std::string& pred);

// Rank 0 evaluates, prints the table and writes the JSON atomically to eval.output (default
// eval.json beside the prediction file); other ranks only wait. Returns the exit code: 0, or
// 3 (exit_codes::partial) when some truth image was not scored (EvalRun::not_scored).
int run_eval(const Config& config, const dist::World& world);

}  // namespace nucseg::eval
