#include "nucseg/infer/driver.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <numeric>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/dist/output_lock.hpp"
#include "nucseg/dist/work_queue.hpp"
#include "nucseg/infer/magnification.hpp"
#include "nucseg/infer/submission.hpp"
#include "nucseg/infer/tile_sharing.hpp"
#include "nucseg/infer/tta.hpp"
#include "image_pass.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Largest files first (the longest jobs start early, so ranks finish together); ties in
// input order. Every rank computes the same order.
std::vector<size_t> dispatch_order(const InputSet& inputs) {
  std::vector<size_t> order(inputs.items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return inputs.items[a].bytes > inputs.items[b].bytes; });
  return order;
}

// Leftovers of a killed run (a result being written when SIGKILL came). Called while this job
// holds the folder's lock, and only for temporaries whose writer no longer runs.
void remove_stale_temporaries(const stdfs::path& images) {
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(images, ec)) {
    if (!is_stale_temporary(e.path())) continue;
    std::error_code rm;
    stdfs::remove(e.path(), rm);
    log::rank().info("removed {} left by a run that no longer runs", e.path().string());
  }
}

// A result that could not be written: not the image's fault, so it ends the run.
struct OutputFailure final : std::runtime_error {
  explicit OutputFailure(const std::string& what) : std::runtime_error(what) {}
};

// With infer.overwrite off: true when the item's result from an earlier run counts as done
// (only a file that reads back whole and was made from this very source file by this model and
// these settings), after adding the exports asked for now; a damaged or stale one is redone
// (and said so). Export errors are OutputFailure.
bool already_done(const InferConfig& config, ResultStore& store, const InputItem& item, RunReport& report) {
  auto done = store.check(item);
  if (done.state == ResultState::done) {
    try {  // exports asked for now, of an image segmented by an earlier run
      store.export_missing(item.id, config.export_labels, config.export_rois);
    } catch (const std::exception& e) {
      throw OutputFailure(e.what());
    }
    ++report.skipped;
    return true;
  }
  if (done.state != ResultState::missing) {
    log::rank().warn("redoing {}: {}", item.id, done.reason);
    ++report.redone;
  }
  return false;
}

// Segments one image and writes its result; returns its pixel count. An image that fails is
// recorded in `failures` (0 pixels) and the run goes on; a result that cannot be written
// throws OutputFailure.
long segment_and_store(const InferConfig& config, double first_scale, long index, const InputItem& item,
                       const Stages& stages, TileSharing& sharing, ResultStore& store,
                       detail::StageSeconds& spent, RunReport& report, std::vector<Failure>& failures) {
  auto t0 = Clock::now();
  try {
    ImageResult result = detail::process_one(config, first_scale, index, item, stages, sharing, spent);
    auto tw = Clock::now();
    try {
      store.write(result, config.save_probabilities);
      if (!config.export_labels.empty()) store.export_labels(result, config.export_labels);
      if (config.export_rois) store.export_rois(result);
    } catch (const std::exception& e) {
      // The output folder refuses writes (a full disk, a lost mount): every other image
      // would fail alike, so the run stops here (exit 1) instead of recording each image
      // as failed. A rerun once the disk has room resumes.
      throw OutputFailure(e.what());
    }
    spent.write += seconds_since(tw);
    ++report.processed;
    log::rank().debug("{}: {} objects in {:.2f} s", item.id, result.objects.size(), seconds_since(t0));
    return static_cast<long>(result.labels.total());
  } catch (const OutputFailure&) {
    throw;
  } catch (const std::exception& e) {
    // One bad image must not end the run: record it and go on. A result left from an
    // earlier run would now be stale (overwrite asked for a redo): remove it.
    std::string reason = e.what();
    log::rank().warn("{} failed: {}", item.path, reason);
    failures.push_back({item.id, item.path, reason});
    ++report.failed;
    std::error_code ec;
    stdfs::remove(store.result_path(item.id), ec);
    return 0;
  }
}

class ProgressLine final {
 public:
  ProgressLine(long total, double interval) : total_(total), interval_(interval), start_(Clock::now()), last_(start_) {}
  // force: log now unless the last line already showed these counts (the end of a run).
  void maybe_log(dist::WorkQueue& queue, bool force) {
    if (!force && seconds_since(last_) < interval_) return;
    auto c = queue.counts();
    if (force && c.finished == last_finished_) return;
    last_ = Clock::now();
    last_finished_ = c.finished;
    double elapsed = seconds_since(start_);
    double rate = elapsed > 0 ? c.processed / elapsed : 0.0;
    double mps = elapsed > 0 ? c.pixels / elapsed / 1e6 : 0.0;
    double eta = rate > 0 ? (total_ - c.finished) / rate : -1.0;
    log::job().info("infer: {}/{} images ({:.1f}%), {:.3g} images/s, {:.3g} megapixels/s, ETA {}", c.finished, total_,
                    total_ > 0 ? 100.0 * c.finished / total_ : 100.0, rate, mps, log::format_duration(eta));
  }

 private:
  long total_;
  double interval_;
  Clock::time_point start_, last_;
  long last_finished_ = -1;
};

// The job-wide stop, agreed through the work queue's window: a rank that received a stop
// signal records it there once, and every rank reads it before it takes an image or a tile
// batch, so all ranks stop within about one image of the first signal on any rank, without a
// collective per image (ranks take images at different rates).
class JobStop final {
 public:
  explicit JobStop(dist::WorkQueue& queue) : queue_(queue) {}
  bool requested() {
    if (!recorded_ && StopSignal::requested()) {
      queue_.request_stop(StopSignal::signal_number());
      recorded_ = true;
    }
    if (!seen_) {
      seen_ = queue_.counts().stopped;
      last_read_ = Clock::now();
    }
    return seen_;
  }
  // For a helper's polling loop (every few ms, once per rank and batch): this rank's own signal
  // at once, the window on rank 0 at most every 50 ms, so idle ranks do not flood the rank that
  // may still be computing with remote reads.
  bool requested_now_and_then() {
    if (seen_ || (!recorded_ && StopSignal::requested())) return requested();
    if (Clock::now() - last_read_ < std::chrono::milliseconds(50)) return false;
    return requested();
  }

 private:
  dist::WorkQueue& queue_;
  bool recorded_ = false;
  bool seen_ = false;
  Clock::time_point last_read_{};
};

// What one rank did, for the report at the end.
struct RankWork {
  RunReport report;
  std::vector<Failure> failures;
  double busy = 0.0;
  detail::StageSeconds spent;
};

// How the image loop ended, the same on every rank.
struct JobEnd {
  bool stopped = false;  // a stop signal left images undone
  int signal = 0;        // the first stop signal any rank recorded; 0: none
};

// This rank's share of the images: from the queue (largest first), then tile batches of other
// ranks' images, until none is left or a stop on any rank. Collective (WorkQueue, TileSharing).
JobEnd work_through_queue(const InferConfig& config, double first_scale, const dist::World& world,
                          const InputSet& inputs, const Stages& stages, ResultStore& store, double progress_seconds,
                          RankWork& w) {
  const auto order = dispatch_order(inputs);
  const long total = static_cast<long>(order.size());
  dist::WorkQueue queue(world, total);  // collective; its barrier also orders the clean-up before it
  JobStop stop(queue);
  // A signal that came before the start is recorded before TileSharing's barrier: no rank then
  // takes an image.
  stop.requested();
  TileSharing sharing(world);  // collective
  ProgressLine progress(total, progress_seconds);
  try {
    while (!stop.requested()) {
      auto next = queue.next();
      if (!next) break;
      const long index = static_cast<long>(order[static_cast<size_t>(*next)]);
      const InputItem& item = inputs.items[static_cast<size_t>(index)];
      if (!config.overwrite && already_done(config, store, item, w.report)) {
        queue.add_finished(false, 0);
        continue;
      }
      auto t0 = Clock::now();
      const long pixels = segment_and_store(config, first_scale, index, item, stages, sharing, store, w.spent,
                                            w.report, w.failures);
      w.busy += seconds_since(t0);
      queue.add_finished(true, pixels);
      if (world.is_root()) progress.maybe_log(queue, false);
    }
  } catch (const OutputFailure& e) {
    sharing.finish_own_work();  // helpers must not wait for this rank's images forever
    throw_runtime(std::string("cannot write results, stopping: ") + e.what(), store.dir().string());
  } catch (...) {
    sharing.finish_own_work();
    throw;
  }
  // No images left to take: help the ranks still working on theirs with tile batches.
  sharing.finish_own_work();
  if (!stop.requested()) {
    auto t0 = Clock::now();
    w.report.batches_helped =
        detail::help_others(config, first_scale, inputs, stages, sharing, [&] { return stop.requested_now_and_then(); });
    if (w.report.batches_helped > 0) w.busy += seconds_since(t0);
  }
  w.report.batches_received = sharing.batches_from_helpers();
  stop.requested();  // records a signal that came after this rank's last look, for the log
  world.barrier();   // every rank done: the counters are final
  if (world.is_root()) progress.maybe_log(queue, true);
  const auto c = queue.counts();
  // A stop that came once every image was taken left nothing undone: a normal end.
  return {c.stopped && c.finished < total, c.stop_signal};
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return "a stop signal";
  }
}

// Rank 0, once every rank is done: segmentation.h5 (and submission.csv) from every result, or
// after a stop that left images undone, only the log line that says so.
void finish_on_root(const InferConfig& config, const InputSet& inputs, const Provenance& provenance,
                    const ResultStore& store, const JobEnd& end, const std::vector<std::string>& gathered,
                    RunReport& report) {
  if (end.stopped) {
    log::job().warn("stopped by signal {} ({}): segmentation.h5 not rebuilt; rerun to resume", end.signal,
                    signal_name(end.signal));
    return;
  }
  if (end.signal != 0)
    log::job().info("signal {} ({}) came once every image was taken: nothing left undone, assembling as usual",
                    end.signal, signal_name(end.signal));
  std::vector<Failure> all;
  for (const auto& part : gathered) {
    auto f = deserialize_failures(part);
    all.insert(all.end(), f.begin(), f.end());
  }
  report.assembly = assemble_segmentation(store.dir(), inputs, all, provenance);
  report.assembled = true;
  log::job().info("segmentation.h5: {} images, {} objects, {} failures", report.assembly.images,
                  report.assembly.objects, report.assembly.failures);
  if (config.export_rle) {
    const auto submission = write_submission(store.dir());
    log::job().info("submission.csv: {} images, {} rows (Kaggle DSB run-length encoding)", submission.images,
                    submission.rows);
  }
}

}  // namespace

cv::Mat argmax_class_map(const std::vector<cv::Mat>& probabilities) {
  if (probabilities.empty()) throw_runtime("no class probabilities");
  cv::Mat out(probabilities[0].size(), CV_8UC1, cv::Scalar(0));
  cv::Mat best = probabilities[0].clone();
  for (size_t k = 1; k < probabilities.size(); ++k) {
    cv::Mat better = probabilities[k] > best;
    out.setTo(static_cast<int>(k), better);
    probabilities[k].copyTo(best, better);
  }
  return out;
}

RunReport run_inference(const InferConfig& config, const dist::World& world, const InputSet& inputs,
                        const Stages& plain_stages, const Provenance& provenance, double progress_seconds) {
  if (config.output.empty()) throw_config("infer.output", "no output folder given");
  make_tile_grid(64, 64, config.tile, config.overlap);  // validates tile/overlap before any work
  // Validated here, before any work, on every rank alike (exit 2 everywhere).
  const double first_scale = initial_scale(config.diameter, plain_stages.training_diameter);
  Stages stages = plain_stages;
  stages.model = with_tta(plain_stages.model, parse_tta_mode(config.tta), plain_stages.classes, plain_stages.extras);
  // One run per output folder: another run's temporaries and results must not mix with ours.
  const FolderLock lock = dist::lock_output_folder(world, config.output, "nucseg_infer", "infer.output");
  ResultStore store(config.output, {provenance.checkpoint_hash, provenance.settings});
  if (world.is_root()) remove_stale_temporaries(store.dir() / "images");

  RankWork work;
  const auto start = Clock::now();
  const JobEnd end = work_through_queue(config, first_scale, world, inputs, stages, store, progress_seconds, work);
  RunReport& report = work.report;
  report.stopped = end.stopped;
  report.stop_signal = end.signal;
  report.failed_total = world.sum(report.failed);
  auto busy_lines = dist::busy_time_report(world, work.busy, seconds_since(start), report.processed);
  auto gathered = world.gather_strings(serialize_failures(work.failures));
  if (report.batches_helped > 0 || report.batches_received > 0)
    log::rank().info("tile batches: {} computed for other ranks' images, {} of this rank's computed by others",
                     report.batches_helped, report.batches_received);
  const auto& spent = work.spent;
  if (report.processed > 0)
    log::rank().info("stage seconds: read {:.1f}, network {:.1f}, instances {:.1f}, measure {:.1f}, write {:.1f}",
                     spent.read, spent.network, spent.instances, spent.measure, spent.write);
  if (world.is_root()) {
    log::job().info("busy time per rank:\n{}", busy_lines);
    finish_on_root(config, inputs, provenance, store, end, gathered, report);
  }
  world.barrier();  // nobody exits (and maybe reruns) before segmentation.h5 is in place
  // One unreadable image in a million need not fail a bulk job: infer.max_failed_fraction says
  // how many may (the failures table lists them either way).
  const long total = static_cast<long>(inputs.items.size());
  const double failed_share = total > 0 ? static_cast<double>(report.failed_total) / static_cast<double>(total) : 0.0;
  report.exit_code = report.stopped                                   ? exit_codes::requeue
                     : failed_share > config.max_failed_fraction ? exit_codes::partial
                                                                     : exit_codes::ok;
  return report;
}

}  // namespace nucseg::infer
