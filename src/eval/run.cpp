// run_eval: dataset masks + segmentation.h5 -> Kaggle DSB 2018 report.
#include "nucseg/eval/run.hpp"

#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/io/mask.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/io/image_ids.hpp"
#include "nucseg/io/segmentation_h5.hpp"
#include "infer_ids.hpp"
#include "truth_rle.hpp"

namespace nucseg::eval {
namespace {

namespace stdfs = std::filesystem;

h5::File open_quietly(const stdfs::path& file) {
  h5::silence_library_errors();
  return h5::File(file.string(), h5::File::Mode::read);
}

// The predictions of a segmentation.h5: its image ids and their label images.
struct Predictions {
  h5::File file;
  std::vector<std::string> ids;
  std::set<std::string> available;

  explicit Predictions(const stdfs::path& pred) : file(open_quietly(pred)) {
    if (!file.exists("index")) throw_data(pred.string(), "no /index group: not a nucseg_infer segmentation.h5");
    ids = file.open_group("index").read_strings("image_id");
    available.insert(ids.begin(), ids.end());
  }
  bool has(const std::string& id) const { return available.count(id) > 0; }

  // The labels of `id`; empty, with the id in run.missing (scored 0), when there are none. A
  // result file that cannot be read (images/<id>.h5 damaged or deleted) is also listed in
  // run.unreadable with its path and reason: one lost image is not the end of the evaluation,
  // nor a silent 0.
  cv::Mat labels_or_missing(const std::string& id, EvalRun& run) const {
    if (has(id)) {
      try {
        return io::read_segmentation_labels(file, id);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::data) throw;
        log::job().warn("eval: the prediction of {} cannot be read, scored 0: {}", id, e.what());
        run.unreadable.push_back({id, e.context().file, e.message()});
      }
    }
    run.missing.push_back(id);
    return {};
  }
};

// Not one truth image has a prediction: a --pred of another dataset, or ids that do not line up
// (infer run on a parent of the truth folder, so every id carries a prefix). Scoring would report 0
// for a result that was never compared, so this is refused with one id of each side shown.
void require_some_prediction(const std::vector<std::string>& expected_ids, const Predictions& predictions,
                             const stdfs::path& truth, const stdfs::path& pred) {
  for (const auto& id : expected_ids)
    if (predictions.has(id)) return;
  std::string msg = "no truth image has a prediction: " + pred.string() + " holds none of the " +
                    std::to_string(expected_ids.size()) + " image ids of " + truth.string() + " (for example '" +
                    expected_ids.front() + "'); ";
  msg += predictions.ids.empty() ? std::string("it holds no image at all")
                                 : "its " + std::to_string(predictions.ids.size()) + " image(s) are ids such as '" +
                                       predictions.ids.front() + "'";
  msg += ". --pred must be the result of nucseg_infer on this truth folder";
  throw_config("eval.pred", msg);
}

std::string json_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_string(values[i]);
  return out + "]";
}

// The id nucseg_infer gives the truth image at `path`, or the one a listing problem at `path` is
// about (for the Kaggle layout the image of the <id> folder it lies in). Ids come from infer's
// own listing of the folder (`ids`); where that does not list the image, from its path alone (no
// other file to collide with). "" when the path lies outside the truth folder, or names
// another file of the flat layout (a second mask).
std::string prediction_id_of(const stdfs::path& truth, io::DatasetLayout layout, const stdfs::path& path,
                             const InferIds& ids) {
  if (auto id = ids.of(path); !id.empty()) return id;
  if (layout == io::DatasetLayout::kaggle) {
    const auto rel = path.lexically_relative(truth);
    if (rel.empty() || *rel.begin() == "..") return "";
    const auto id = ids.of_kaggle_item(rel.begin()->string());
    return id.empty() ? io::image_ids({rel.begin()->string()}).front() : id;
  }
  const auto rel = path.lexically_relative(layout == io::DatasetLayout::flat ? truth / "images" : truth);
  return rel.empty() || *rel.begin() == ".." ? "" : io::image_ids({rel.generic_string()}).front();
}

std::string not_scored_json(const std::vector<NotScored>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i)
    out += std::string(i ? ", " : "") + "{\"id\": " + json_string(entries[i].id) + ", \"path\": " +
           json_string(entries[i].path) + ", \"reason\": " + json_string(entries[i].reason) + "}";
  return out + "]";
}

void log_skipped(const stdfs::path& truth, const io::ListingStats& skipped) {
  if (skipped.hidden + skipped.temporary + skipped.others > 0)
    log::job().info("eval: skipped {} hidden, {} temporary and {} other file(s) (neither image nor mask) under {}", skipped.hidden,
                    skipped.temporary, skipped.others, truth.string());
  if (skipped.extra_images > 0)
    log::job().warn("eval: {} image(s) in Kaggle <id>/images folders besides the one named <id> are not scored",
                    skipped.extra_images);
  if (skipped.not_regular.count > 0)
    log::job().warn("eval: under {} skipped {} (not opened)", truth.string(), skipped.not_regular.text());
  if (skipped.empty_mask_folders > 0)
    log::job().info("eval: {} truth image(s) with an empty masks folder, scored as images without nuclei",
                    skipped.empty_mask_folders);
}

// The truth labels of `item` into `labels`; false, with the item in run.not_scored naming the
// file and why, when its image or a mask cannot be read (cut short, empty, of another size than
// the image, labels above 2^31): one damaged annotation is not the end of the evaluation, as one
// unreadable prediction is not (labels_or_missing). Other errors are not about this item: thrown.
bool read_truth(const io::DatasetItem& item, const std::string& pred_id, EvalRun& run, cv::Mat& labels) {
  try {
    auto size = io::read_raw_image(item.image).pixels.size();  // any channel count: only the size matters
    labels = io::read_instance_labels(item, size);
    // Scored as annotated, but a truth that is likely the background read as a nucleus (an
    // inverted mask) would make every score near 0 for a reason no table shows: say so.
    const auto doubt = io::annotation_doubt(labels);
    if (!doubt.empty()) log::job().warn("eval: truth of {}: {}", item.id, doubt);
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::data) throw;
    const std::string file = e.context().file.empty() ? item.image.string() : e.context().file;
    log::job().warn("eval: not scoring {}: {}: {}", item.id, file, e.message());
    run.not_scored.push_back({pred_id, file, e.message()});
    return false;
  }
}

// Truth from a mask folder (Kaggle layout, flat or paired). Adds to `run.missing`,
// `run.not_scored` and `matched`.
std::vector<LabelPair> folder_pairs(const stdfs::path& truth, const stdfs::path& pred, const Predictions& predictions,
                                    EvalRun& run, std::set<std::string>& matched) {
  auto layout = io::detect_layout(truth);
  if (layout == io::DatasetLayout::images_only)
    throw_config("eval.truth", truth.string() + " holds no masks (expected <id>/images + <id>/masks, images/ + masks/, or "
                                                "<stem>.png beside <stem>_masks.png)");
  io::ListingStats skipped;
  std::vector<io::ListingProblem> problems;  // an image without its mask: warned, not scored
  // The prediction's folder (infer.output) may lie inside the truth folder: not truth.
  const auto infer_output = stdfs::absolute(pred).parent_path();
  auto items = io::list_dataset(truth, layout, "images", "masks", &problems, &skipped, infer_output);
  // The ids nucseg_infer gives the images when it segments this folder (infer_ids.hpp).
  const InferIds ids(truth, infer_output);
  for (const auto& p : problems) {
    log::job().warn("eval: not scoring {}: {}", p.path.string(), p.reason);
    run.not_scored.push_back({prediction_id_of(truth, layout, p.path, ids), p.path.string(), p.reason});
    if (!run.not_scored.back().id.empty()) matched.insert(run.not_scored.back().id);  // its prediction is not "without truth"
  }
  if (items.empty()) throw_config("eval.truth", "no images with masks in " + truth.string());
  log_skipped(truth, skipped);
  std::vector<std::string> expected_ids;
  for (const auto& item : items) expected_ids.push_back(prediction_id_of(truth, layout, item.image, ids));
  require_some_prediction(expected_ids, predictions, truth, pred);
  std::vector<LabelPair> pairs;
  pairs.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    matched.insert(expected_ids[i]);
    cv::Mat truth_labels;
    if (!read_truth(items[i], expected_ids[i], run, truth_labels)) continue;
    cv::Mat pred_labels = predictions.labels_or_missing(expected_ids[i], run);
    if (pred_labels.empty()) pred_labels = cv::Mat::zeros(truth_labels.size(), CV_32SC1);
    pairs.push_back({items[i].id, {std::move(truth_labels), std::move(pred_labels)}});
  }
  // Not one truth image could be read: a score of nothing is no result.
  if (pairs.empty())
    throw_data(truth.string(), "none of the " + std::to_string(items.size()) + " truth image(s) could be read, nothing "
                               "to score (" + run.not_scored.back().path + ": " + run.not_scored.back().reason + ")");
  return pairs;
}

// Truth from a run-length CSV (truth_rle.hpp): ids as written there; an image's size is the
// file's, else its prediction's.
std::vector<LabelPair> rle_pairs(const stdfs::path& truth, const stdfs::path& pred, const Predictions& predictions,
                                 EvalRun& run, std::set<std::string>& matched) {
  std::vector<std::string> ignored;
  const auto images = read_rle_truth(truth, ignored);
  if (images.empty()) throw_config("eval.truth", "no images in " + truth.string());
  std::vector<std::string> ids;
  for (const auto& image : images) ids.push_back(image.id);
  require_some_prediction(ids, predictions, truth, pred);
  if (!ignored.empty())
    log::job().info("eval: {} image(s) marked Usage=Ignored in {} are not scored", ignored.size(), truth.string());
  matched.insert(ignored.begin(), ignored.end());  // predicted, but deliberately not scored
  std::vector<LabelPair> pairs;
  pairs.reserve(images.size());
  for (const auto& image : images) {
    matched.insert(image.id);
    const bool sized = image.height > 0;
    cv::Mat pred_labels = predictions.labels_or_missing(image.id, run);
    const cv::Size size = sized ? cv::Size(image.width, image.height) : pred_labels.empty() ? one_row_size(image) : pred_labels.size();
    if (pred_labels.empty()) pred_labels = cv::Mat::zeros(size, CV_32SC1);
    pairs.push_back({image.id, {decode_truth(image, size, truth.string()), std::move(pred_labels)}});
  }
  return pairs;
}

}  // namespace

stdfs::path prediction_file(const stdfs::path& pred) {
  std::error_code ec;
  if (stdfs::is_directory(pred, ec)) {
    const auto inside = pred / "segmentation.h5";
    if (stdfs::is_regular_file(inside, ec)) return inside;
    throw_config("eval.pred", pred.string() + " is a folder without a segmentation.h5: --pred wants the segmentation.h5 "
                                              "nucseg_infer writes (or the infer.output folder that holds it)");
  }
  if (!stdfs::is_regular_file(pred, ec)) throw_config("eval.pred", "prediction file does not exist: " + pred.string());
  return pred;
}

EvalRun evaluate_prediction_file(const stdfs::path& truth, const stdfs::path& pred_given, int threads) {
  std::error_code ec;
  const bool csv = stdfs::is_regular_file(truth, ec);
  if (!csv && !stdfs::is_directory(truth, ec))
    throw_config("eval.truth", "truth folder or run-length CSV does not exist: " + truth.string());
  const stdfs::path pred = prediction_file(pred_given);
  const Predictions predictions(pred);

  EvalRun run;
  std::set<std::string> matched;
  auto pairs = csv ? rle_pairs(truth, pred, predictions, run, matched) : folder_pairs(truth, pred, predictions, run, matched);
  for (const auto& id : predictions.ids)
    if (!matched.count(id)) run.ignored.push_back(id);

  run.result = evaluate_pairs(pairs, threads);
  if (!run.missing.empty()) {
    // An image the network never segmented scores 0, even one whose truth is empty (which an
    // empty prediction would otherwise match perfectly).
    std::set<std::string> missing(run.missing.begin(), run.missing.end());
    std::vector<ImageScore> scores;
    for (auto& [id, score] : run.result.images) {
      if (missing.count(id)) score.score = 0.0;
      scores.push_back(score);
    }
    run.result.dataset = segment::aggregate(scores);
  }
  return run;
}

std::string report_json(const EvalRun& run, const std::string& truth, const std::string& pred) {
  std::ostringstream o;
  o.precision(17);
  o << "{\n\"score\": " << run.result.dataset.score << ",\n\"images\": " << run.result.images.size()
    << ",\n\"truth\": " << json_string(truth) << ",\n\"pred\": " << json_string(pred)
    << ",\n\"missing\": " << json_list(run.missing) << ",\n\"ignored\": " << json_list(run.ignored)
    << ",\n\"not_scored\": " << not_scored_json(run.not_scored)
    << ",\n\"unreadable\": " << not_scored_json(run.unreadable)
    << ",\n\"report\": " << to_json(run.result.dataset, run.result.images) << "}\n";
  return o.str();
}

int run_eval(const Config& config, const dist::World& world) {
  const auto& ec = config.eval;
  if (ec.truth.empty()) throw_config("eval.truth", "no truth given (--truth: a mask folder or a run-length CSV)");
  if (ec.pred.empty()) throw_config("eval.pred", "no prediction file given (--pred, a segmentation.h5)");
  if (!world.is_root()) return exit_codes::ok;  // scoring is cheap; one rank does it
  const stdfs::path pred = prediction_file(ec.pred);
  if (pred != stdfs::path(ec.pred)) log::job().info("eval: reading {} (--pred names its folder)", pred.string());
  stdfs::path output = ec.output.empty() ? pred.parent_path() / "eval.json" : stdfs::path(ec.output);

  auto run = evaluate_prediction_file(ec.truth, pred, world.default_threads(0));
  for (const auto& id : run.missing) log::job().warn("eval: no prediction for {}: scored 0", id);
  for (const auto& id : run.ignored) log::job().warn("eval: prediction {} has no truth: ignored", id);
  std::cout << format_table(run.result) << std::flush;
  if (!output.parent_path().empty()) fs::create_directories(output.parent_path());
  fs::write_file_atomic(output, report_json(run, ec.truth, pred.string()));
  log::job().info("eval: Kaggle DSB 2018 score {:.4f} over {} images ({} without prediction, {} truth image(s) not scored); "
                  "report {}",
                  run.result.dataset.score, run.result.images.size(), run.missing.size(), run.not_scored.size(),
                  output.string());
  if (run.not_scored.empty() && run.unreadable.empty()) return exit_codes::ok;
  if (!run.not_scored.empty())
    log::job().error("eval: {} truth image(s) could not be read and are not in the score (\"not_scored\" in {}): exit {}",
                     run.not_scored.size(), output.string(), exit_codes::partial);
  if (!run.unreadable.empty())
    log::job().error("eval: {} prediction(s) could not be read and are scored 0 (\"unreadable\" in {}): exit {}",
                     run.unreadable.size(), output.string(), exit_codes::partial);
  return exit_codes::partial;
}

}  // namespace nucseg::eval
