// The training loop (docs/training.md): data-parallel over MPI ranks, resumable, preemptible.
#include "nucseg/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "nucseg/core/duration.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/data/batch.hpp"
#include "nucseg/data/normalization_cache.hpp"
#include "nucseg/data/sampler.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/output_lock.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/train/checkpoint_dir.hpp"
#include "nucseg/train/lr_schedule.hpp"
#include "nucseg/train/setup.hpp"
#include "nucseg/train/tensorboard.hpp"
#include "nucseg/train/time_budget.hpp"
#include "nucseg/train/validation.hpp"
#include "epoch_report.hpp"
#include "root_decides.hpp"

namespace nucseg::train {
namespace stdfs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void set_lr(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

// Per epoch, summed over its steps: the step without the loader wait, the all-reduce in
// flight (overlapped with backward or not) and what finish() waited for it; and the loss.
struct EpochTotals {
  Clock::time_point start = Clock::now();
  data::LoaderStats loader_before;
  Clock::time_point last_log = Clock::now();
  double loss_sum = 0;
  long loss_count = 0, images = 0;
  double step_seconds = 0, allreduce_seconds = 0, comm_wait_seconds = 0;
};

// One training run. The constructor is the set-up, in the order that reports every input
// problem before training time is spent, and resumes from the run's latest checkpoint;
// run() is the loop over epochs, step() one optimizer step, end_epoch() validation,
// reports and the epoch's checkpoint.
class TrainingRun final {
 public:
  TrainingRun(const Config& config, const dist::World& world, const std::string& resolved_config);
  int run();

 private:
  long checked_steps_per_epoch() const;
  int configure_torch() const;  // threads, determinism, seed; returns the threads per rank
  model::UNet build_model() const;
  CheckpointDir open_checkpoints() const;
  TrainState resume(const std::string& resolved_config);
  Reporter open_reporter(const std::string& resolved_config) const;
  data::Sample make_sample(long position, uint64_t seed) const;
  ValidationOptions validation_options() const;

  double step(const data::Batch& batch, EpochTotals& totals);
  void log_progress(double loss, EpochTotals& totals) const;
  struct StepEnd {
    bool signal = false;  // a stop signal on some rank: checkpoint and exit for requeue
    bool budget = false;  // train.time_limit: no room for another step
    double mean_loss = 0; // the step's loss averaged over ranks
  };
  StepEnd agree_at_step_end(double loss);
  std::string last_good() const;
  void check_weights_finite() const;
  void checkpoint(const EpochTotals& totals);
  int stop_for_requeue() const;
  void end_epoch(const EpochTotals& totals, bool done);
  void validate_and_report(long epoch_number, const EpochTotals& totals, double train_seconds);

  const Config& config_;
  const TrainConfig& tc_;
  const dist::World& world_;
  const int classes_;
  const LossOptions loss_options_;
  TrainData data_;
  const size_t n_train_;
  // The epoch order: every train image samples_per_image times, shuffled per epoch, split over ranks.
  data::DistributedSampler sampler_;
  const long steps_per_epoch_;
  const long total_steps_;
  const LrSchedule schedule_;
  const torch::Device device_;
  const int threads_;
  model::UNet model_;
  torch::optim::Adam optimizer_;
  CheckpointDir ckpts_;
  // The newest checkpoint known good (resumed from or written), the same on every rank; before
  // state_, which resume() initialises and which sets it.
  std::string last_checkpoint_;
  TrainState state_;
  const TimeBudget budget_;
  Reporter reporter_;
  const data::AugmentParams augment_params_;
  mutable data::NormalizationCache normalization_;  // per train image, on the whole image
  data::BatchLoader loader_;
  std::unique_ptr<dist::GradientSync> sync_;
  const ValidationOptions val_options_;
  const Clock::time_point run_start_;
  const long first_step_;
  // train.time_limit bookkeeping (decisions are rank 0's, shared by agree_at_step_end()).
  double time_fraction_ = 0;      // of the budget used, drives the cosine schedule
  bool budget_stopped_ = false;
  Clock::time_point last_step_end_ = Clock::now();
  double step_wall_sum_ = 0;      // wall seconds per step, loader wait included, validation not
  long step_wall_count_ = 0;
  double validation_seconds_ = 0; // the last validation's duration
  double last_lr_ = 0;
};

TrainingRun::TrainingRun(const Config& config, const dist::World& world, const std::string& resolved_config)
    : config_(config),
      tc_(config.train),
      world_(world),
      classes_(config.model.classes),
      loss_options_(LossOptions::from(tc_, classes_)),
      data_(open_train_data(config)),
      n_train_(data_.train.size()),
      sampler_(n_train_ * config.data.samples_per_image, world.rank(), world.size(), static_cast<uint64_t>(tc_.seed),
               false),
      steps_per_epoch_(checked_steps_per_epoch()),
      total_steps_(tc_.max_steps > 0 ? std::min(tc_.epochs * steps_per_epoch_, tc_.max_steps)
                                     : tc_.epochs * steps_per_epoch_),
      schedule_(LrSchedule::from(tc_, steps_per_epoch_, total_steps_, world.size())),
      device_(select_device(tc_.device, world.local_rank())),
      threads_(configure_torch()),
      model_(build_model()),
      optimizer_(model_->trainable_parameters(), torch::optim::AdamOptions(tc_.lr).weight_decay(tc_.weight_decay)),
      ckpts_(open_checkpoints()),
      state_(resume(resolved_config)),
      budget_(parse_duration_seconds(tc_.time_limit, "train.time_limit"), state_.train_seconds),
      reporter_(open_reporter(resolved_config)),
      augment_params_(data::AugmentParams::from(config.data)),
      normalization_(io::normalize_spec(config.data)),
      loader_([this](long position, uint64_t seed) { return make_sample(position, seed); },
              data::LoaderOptions{config.data.workers, config.data.prefetch, tc_.batch_size,
                                  static_cast<uint64_t>(tc_.seed), true,
                                  data::HeadTargets{config.model.distance_head, config.model.flow_head}}),
      sync_(make_gradient_sync(world, model_->parameters(), tc_.bucket_mb, device_)),
      val_options_(validation_options()),
      run_start_(Clock::now()),
      first_step_(state_.step),
      time_fraction_(budget_.fraction(0)) {
  log::job().info("training: {} train / {} val images, {} rank(s) x {} thread(s) on {}, batch {} per rank, {} steps "
                  "per epoch, {} steps in all",
                  n_train_, data_.val.size(), world_.size(), threads_, device_.str(), tc_.batch_size, steps_per_epoch_,
                  total_steps_);
  log::job().info("input: channels {}, normalisation {}, median nucleus diameter {:.1f} px{}", data_.dataset.channels(),
                  io::describe(normalization_.spec()), state_.nucleus_diameter,
                  state_.nucleus_diameter > 0 ? "" : " (unknown: shards of format version 1)");
  if (budget_.enabled())
    log::job().info("time limit {} ({}), {} of it used before this start; the cosine schedule follows it",
                    tc_.time_limit, log::format_duration(budget_.limit()), log::format_duration(state_.train_seconds));
}

long TrainingRun::checked_steps_per_epoch() const {
  const long steps = static_cast<long>(sampler_.per_rank()) / tc_.batch_size;
  if (steps == 0)
    throw_config("train.batch_size", std::to_string(tc_.batch_size) + " is larger than the " +
                                         std::to_string(sampler_.per_rank()) + " training samples each rank gets per epoch");
  return steps;
}

int TrainingRun::configure_torch() const {
  const int threads = world_.default_threads(tc_.threads);
  at::set_num_threads(threads);
  if (tc_.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  torch::manual_seed(static_cast<uint64_t>(tc_.seed));
  return threads;
}

model::UNet TrainingRun::build_model() const {
  auto model = model::make_model(config_.model);
  if (tc_.bn_momentum > 0)
    for (auto& m : model->modules())
      if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn->options.momentum(tc_.bn_momentum);
  model->to(device_);
  if (world_.size() > 1) dist::broadcast_parameters(world_, *model);
  model->set_mixed_bfloat16(choose_train_bfloat16(tc_, device_, world_));
  return model;
}

CheckpointDir TrainingRun::open_checkpoints() const {
  const stdfs::path out = tc_.output;
  if (world_.is_root()) fs::create_directories(out);
  world_.barrier();
  return CheckpointDir(out / "checkpoints", tc_.keep_checkpoints);
}

TrainState TrainingRun::resume(const std::string& resolved_config) {
  TrainState state;
  state.seed = tc_.seed;
  model::record_architecture(state, config_.model, classes_);
  state.best_score = -std::numeric_limits<double>::infinity();
  // A full load is the check: a cut-short or damaged (hash, non-finite weights) checkpoint is
  // skipped for an older one; a model that does not fit the configuration is refused.
  auto load = [&](const std::string& path) {
    check_resume_model(config_.model, model::read_checkpoint_state(path), path);
    state = model::load_checkpoint(path, *model_, &optimizer_, device_);
  };
  if (auto path = resume_checkpoint(world_, ckpts_, load); !path.empty()) {
    last_checkpoint_ = path;
    log::job().info("resuming from {} (epoch {}, step {}, batch {} of the epoch)", path, state.epoch + 1, state.step,
                    state.batch_in_epoch);
    check_resume_layout(state, path, world_.size(), tc_.batch_size);
  }
  state.config = resolved_config;
  state.nucleus_diameter = data_.dataset.nucleus_diameter_median();
  state.world_size = world_.size();
  state.batch_size = tc_.batch_size;
  return state;
}

Reporter TrainingRun::open_reporter(const std::string& resolved_config) const {
  Reporter reporter;
  if (!world_.is_root()) return reporter;
  const stdfs::path out = tc_.output;
  if (!resolved_config.empty()) fs::write_file_atomic(out / "config.toml", resolved_config);
  reporter.csv = std::make_unique<MetricsCsv>(out / "metrics.csv", classes_, state_.epoch);
  reporter.events = std::make_unique<EventWriter>(out);
  reporter.previews = out / "previews";
  return reporter;
}

data::Sample TrainingRun::make_sample(long position, uint64_t seed) const {
  const size_t index = data_.train[static_cast<size_t>(position) % n_train_];
  auto record = data_.dataset.read(index);
  const auto ranges = normalization_.ranges(index, record.image);
  std::mt19937_64 rng(seed);
  // The distance and flow heads learn from the instance labels; they travel through the augmentation.
  const cv::Mat labels = config_.model.distance_head || config_.model.flow_head ? record.labels : cv::Mat();
  return data::augment(data::Sample{record.image, record.classes, labels}, ranges, augment_params_, rng);
}

ValidationOptions TrainingRun::validation_options() const {
  ValidationOptions options;
  options.loss = loss_options_;
  options.segment = segment::params_from_config(config_.segment);
  options.preview_count = tc_.preview_count;
  options.device = device_;
  options.normalize = normalization_.spec();
  return options;
}

int TrainingRun::run() {
  model_->train();
  // A run whose budget is spent (an earlier invocation stopped at it) has nothing left to do.
  bool done = state_.step >= total_steps_ || (budget_.enabled() && state_.train_seconds >= budget_.limit());
  while (!done && state_.epoch < tc_.epochs) {
    sampler_.set_epoch(static_cast<int>(state_.epoch));
    std::vector<long> order;
    for (size_t i : sampler_.indices()) order.push_back(static_cast<long>(i));
    loader_.start_epoch(state_.epoch, std::move(order), state_.batch_in_epoch);
    EpochTotals totals;
    totals.loader_before = loader_.stats();
    if (world_.is_root()) {  // the loss of the epoch's steps before a resume (world sums them)
      totals.loss_sum = state_.epoch_loss_sum;
      totals.loss_count = state_.epoch_loss_count;
    }
    last_step_end_ = Clock::now();
    while (auto batch = loader_.next()) {
      const double loss = step(*batch, totals);
      log_progress(loss, totals);
      const StepEnd end = agree_at_step_end(loss);
      reporter_.report_step(state_.step, end.mean_loss, last_lr_);
      done = state_.step >= total_steps_ || end.budget;
      if (end.budget) {
        budget_stopped_ = true;
        state_.train_seconds = budget_.limit();  // spent: a rerun with this limit does nothing
      }
      // A stop on the final step (or on the step the budget ends the run at) does not requeue:
      // the run ends here anyway, so it goes on to the final validation and best.pt (a requeued
      // run would find nothing left to do and skip them).
      const bool stop = end.signal && !done;
      // A step that ends the epoch is checkpointed by end_epoch() (after the epoch's validation
      // and BatchNorm alignment), once, not here too.
      const bool every = tc_.checkpoint_every > 0 && state_.step % tc_.checkpoint_every == 0;
      if (stop || (every && !done && state_.batch_in_epoch < loader_.batches_in_epoch())) checkpoint(totals);
      if (stop) return stop_for_requeue();
      if (done) break;
    }
    end_epoch(totals, done);
  }
  if (budget_stopped_)
    log::job().info("stopped at the time budget (train.time_limit = {}) at step {} of {}, epoch {}: no room for another "
                    "step and the final validation; checkpoint written, best.pt up to date",
                    tc_.time_limit, state_.step, total_steps_, state_.epoch + (state_.batch_in_epoch > 0 ? 1 : 0));
  log::job().info("training finished at step {} in {}; best object score {:.4f} (step {})", state_.step,
                  log::format_duration(since(run_start_)), state_.best_score, state_.best_step);
  return exit_codes::ok;
}

// One collective per step (instead of a separate stop-signal vote): every rank's stop signal,
// and rank 0's time-budget decision and budget fraction, so all ranks stop after the same step
// and set the same learning rate; no rank is left waiting in a collective. It also sums the
// ranks' losses for TensorBoard's per-step loss.
TrainingRun::StepEnd TrainingRun::agree_at_step_end(double loss) {
  const auto now = Clock::now();
  step_wall_sum_ += std::chrono::duration<double>(now - last_step_end_).count();
  ++step_wall_count_;
  last_step_end_ = now;
  std::vector<double> votes = {StopSignal::requested() ? 1.0 : 0.0, 0.0, 0.0, loss};
  if (world_.is_root() && budget_.enabled()) {
    const double elapsed = since(run_start_);
    // What must still fit after the next step: the final validation, and the epoch-end one
    // when the next step ends an epoch that validates.
    const bool next_ends_epoch = state_.batch_in_epoch + 1 >= loader_.batches_in_epoch();
    const bool validates = (state_.epoch + 1) % tc_.val_every == 0;
    const double reserve = validation_seconds_ * (next_ends_epoch && validates ? 2.0 : 1.0);
    votes[1] = budget_.stop_before_next_step(elapsed, step_wall_sum_ / static_cast<double>(step_wall_count_), reserve);
    votes[2] = budget_.fraction(elapsed, validation_seconds_);  // the final validation is not stepping time
  }
  dist::sum_in_place(world_, votes);
  time_fraction_ = votes[2];
  return {votes[0] > 0, votes[1] > 0, votes[3] / world_.size()};
}

double TrainingRun::step(const data::Batch& batch, EpochTotals& totals) {
  const auto step_start = Clock::now();
  last_lr_ = learning_rate(schedule_, state_.step, time_fraction_);
  set_lr(optimizer_, last_lr_);
  auto images = batch.images.to(device_), targets = batch.classes.to(device_);
  optimizer_.zero_grad();
  auto distance = batch.distance.defined() ? batch.distance.to(device_) : torch::Tensor();
  auto flows = batch.flows.defined() ? batch.flows.to(device_) : torch::Tensor();
  auto loss = training_loss(model_->forward(images), targets, distance, loss_options_, flows);
  if (sync_) sync_->begin_step();
  (sync_ ? loss * sync_->loss_scale() : loss).backward();  // prescaled: make_gradient_sync
  if (sync_) sync_->finish();
  const double value = loss.item<double>();
  if (world_.any(!std::isfinite(value)))
    throw_runtime("the training loss became " + std::to_string(value) + " at step " + std::to_string(state_.step + 1) +
                  " (epoch " + std::to_string(state_.epoch + 1) + "); stopped without applying it. " + last_good());
  optimizer_.step();
  totals.step_seconds += since(step_start);
  if (sync_) {
    totals.allreduce_seconds += sync_->last_stats().allreduce_seconds;
    totals.comm_wait_seconds += sync_->last_stats().wait_seconds;
  }
  ++state_.step;
  ++state_.batch_in_epoch;
  totals.loss_sum += value;
  ++totals.loss_count;
  totals.images += images.size(0);
  return value;
}

void TrainingRun::log_progress(double loss, EpochTotals& totals) const {
  if (!world_.is_root() || since(totals.last_log) < config_.log.progress_seconds) return;
  totals.last_log = Clock::now();
  const double rate = (state_.step - first_step_) * tc_.batch_size * world_.size() / since(run_start_);
  double eta = rate > 0 ? (total_steps_ - state_.step) * tc_.batch_size * world_.size() / rate : -1;
  if (budget_.enabled()) {
    const double left = std::max(0.0, budget_.limit() - budget_.used(since(run_start_)));
    eta = eta < 0 ? left : std::min(eta, left);
  }
  log::job().info("epoch {}/{} step {}/{}: loss {:.4f}, {:.2f} images/s, loader {:.1f} images/s, ETA {}",
                  state_.epoch + 1, tc_.epochs, state_.step, total_steps_, loss, rate,
                  loader_.stats().images_per_s(config_.data.workers), log::format_duration(eta));
}

// The end of a stop for a non-finite loss or weights: what a rerun resumes from, and what to try.
std::string TrainingRun::last_good() const {
  return "The last good checkpoint is kept: " + (last_checkpoint_.empty() ? std::string("none written yet") : last_checkpoint_) +
         ". Lower train.lr or check the data.";
}

// An update that overflowed leaves NaN or infinite weights although the step's loss was finite:
// they are never saved or validated (rank 0's model: call it through root_decides()).
void TrainingRun::check_weights_finite() const {
  if (const auto bad = model::non_finite_tensor(*model_); !bad.empty())
    throw_runtime("the model's weights became NaN or infinite (" + bad + ") at step " + std::to_string(state_.step) +
                  " (epoch " + std::to_string(state_.epoch + 1) + "); stopped without saving them. " + last_good());
}

void TrainingRun::checkpoint(const EpochTotals& totals) {
  // Collective: the epoch's loss so far, over every rank, goes into the checkpoint.
  state_.epoch_loss_sum = world_.sum(totals.loss_sum);
  state_.epoch_loss_count = world_.sum(totals.loss_count);
  // Rank 0 writes; a failure (a full disk, non-finite weights) stops every rank with its message.
  last_checkpoint_ = root_decides(world_, [this] {
    check_weights_finite();
    if (!budget_stopped_) state_.train_seconds = budget_.used(since(run_start_));
    return ckpts_.save(*model_, &optimizer_, state_).string();
  });
}

int TrainingRun::stop_for_requeue() const {
  world_.barrier();  // nobody exits (non-zero) before rank 0 has renamed its checkpoint
  // Rank 0 speaks for the job but may not be the rank that was signalled.
  const int signal = StopSignal::signal_number();
  log::job().warn("stop signal ({}): checkpoint written at step {}; exiting with {} (requeue)",
                  signal ? "signal " + std::to_string(signal) : std::string("on another rank"), state_.step,
                  exit_codes::requeue);
  return exit_codes::requeue;
}

// End of the epoch (or of the run, when max_steps ends it early).
void TrainingRun::end_epoch(const EpochTotals& totals, bool done) {
  const double train_seconds = since(totals.start);  // before validation
  log_epoch_timing(world_, state_.epoch + 1, totals.loss_count,
                   {totals.step_seconds, totals.allreduce_seconds, totals.comm_wait_seconds,
                    loader_.stats().wait_seconds - totals.loader_before.wait_seconds},
                   totals.images * world_.size() / std::max(1e-9, train_seconds));
  const bool epoch_complete = !done || state_.batch_in_epoch >= loader_.batches_in_epoch();
  const long epoch_number = state_.epoch + 1;
  if (epoch_complete) {
    ++state_.epoch;
    state_.batch_in_epoch = 0;
  }
  const bool last = done || state_.epoch >= tc_.epochs;
  // Every rank validates (and rank 0 saves) one model: rank 0's BatchNorm statistics (grad_sync.hpp).
  dist::broadcast_buffers(world_, *model_);
  root_decides(world_, [this] {  // nor is a model of NaN validated, or saved as best.pt
    check_weights_finite();
    return std::string();
  });
  if (epoch_number % tc_.val_every == 0 || last) {
    const auto start = Clock::now();
    validate_and_report(epoch_number, totals, train_seconds);
    validation_seconds_ = since(start);
  }
  checkpoint(epoch_complete ? EpochTotals{} : totals);  // a new epoch: no loss of it yet
  world_.barrier();
  last_step_end_ = Clock::now();  // the next step's wall time leaves validation out
}

void TrainingRun::validate_and_report(long epoch_number, const EpochTotals& totals, double train_seconds) {
  auto v = validate(model_, data_.dataset, data_.val, val_options_, world_);
  const bool scored = classes_ == 3;
  const double score = scored ? v.object_score : -v.loss;  // without instances, rank by val loss
  const bool best = score > state_.best_score;
  if (best) {
    state_.best_score = score;
    state_.best_step = state_.step;
  }
  const double train_loss = world_.sum(totals.loss_sum) / std::max(1L, world_.sum(totals.loss_count));
  root_decides(world_, [&] {  // collective on every rank; rank 0's `best` decides
    if (!best) return std::string();
    if (!budget_stopped_) state_.train_seconds = budget_.used(since(run_start_));
    return ckpts_.save_best(*model_, state_).string();
  });
  if (!world_.is_root()) return;
  const auto ls = loader_.stats();
  EpochMetrics m;
  m.epoch = epoch_number;
  m.step = state_.step;
  m.images_per_s = totals.images * world_.size() / std::max(1e-9, train_seconds);
  m.train_loss = train_loss;
  m.val_loss = v.loss;
  m.pixel_accuracy = v.confusion.pixel_accuracy();
  for (int k = 0; k < classes_; ++k) m.iou.push_back(v.confusion.iou(k));
  m.object_score = v.object_score;
  m.lr = last_lr_;
  m.wall_seconds = since(run_start_);
  reporter_.report(m, v, classes_);
  log::job().info("epoch {}: train loss {:.4f}, val loss {:.4f}, pixel accuracy {:.4f}, object score {:.4f}{}; "
                  "{:.2f} images/s (loader {:.1f} images/s, waited {:.1f} s)",
                  epoch_number, m.train_loss, m.val_loss, m.pixel_accuracy, m.object_score, best ? " (best)" : "",
                  m.images_per_s, ls.images_per_s(config_.data.workers),
                  ls.wait_seconds - totals.loader_before.wait_seconds);
}

}  // namespace

int run_train(const Config& config, const dist::World& world, const std::string& resolved_config) {
  // First thing: a Slurm signal that arrives while the data loads must not kill the ranks; the
  // loop checkpoints at its first step boundary instead.
  StopSignal::install();
  if (config.train.output.empty()) throw_config("train.output", "is empty: set the run directory");
  // One run per run directory (core/lock.hpp), held until the last checkpoint is written.
  const FolderLock lock = dist::lock_output_folder(world, config.train.output, "nucseg_train", "train.output");
  TrainingRun run(config, world, resolved_config);
  return run.run();
}

}  // namespace nucseg::train
