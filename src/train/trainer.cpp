// The training loop (docs/training.md): data-parallel over MPI ranks, resumable, preemptible.
#include "nucseg/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/data/batch.hpp"
#include "nucseg/data/sampler.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/train/checkpoint_dir.hpp"
#include "nucseg/train/lr_schedule.hpp"
#include "nucseg/train/setup.hpp"
#include "nucseg/train/tensorboard.hpp"
#include "nucseg/train/validation.hpp"

namespace nucseg::train {
namespace stdfs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void set_lr(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

// Rank 0 picks the checkpoint to resume from (removing torn temporaries); every rank loads it.
std::string resume_path(const dist::World& world, CheckpointDir& ckpts) {
  std::string path;
  if (world.is_root())
    if (auto latest = ckpts.latest()) path = latest->string();
  world.broadcast(path);
  return path;
}

// Everything an epoch-end report needs, on rank 0.
struct Reporter {
  std::unique_ptr<MetricsCsv> csv;
  std::unique_ptr<EventWriter> events;
  stdfs::path previews;

  void report(const EpochMetrics& m, const ValidationResult& v, int classes) {
    csv->append(m);
    events->add_scalar("train/loss", m.step, static_cast<float>(m.train_loss));
    events->add_scalar("train/images_per_s", m.step, static_cast<float>(m.images_per_s));
    events->add_scalar("train/lr", m.step, static_cast<float>(m.lr));
    events->add_scalar("val/loss", m.step, static_cast<float>(m.val_loss));
    events->add_scalar("val/pixel_accuracy", m.step, static_cast<float>(m.pixel_accuracy));
    for (int k = 0; k < classes; ++k)
      events->add_scalar("val/iou_" + class_name(k), m.step, static_cast<float>(v.confusion.iou(k)));
    events->add_scalar("val/object_score", m.step, static_cast<float>(m.object_score));
    events->flush();
    if (!v.previews.empty()) {
      char name[32];
      std::snprintf(name, sizeof name, "epoch-%03ld.png", m.epoch);
      write_preview(previews / name, v.previews);
    }
  }
};

// One line per epoch on where a step's time goes, averaged over ranks (collective): the
// compute+communication step, the all-reduce time (in flight, mostly hidden behind backward),
// the part the optimizer step waited for it, and the wait for the loader.
void log_epoch_timing(const dist::World& world, long epoch, long steps, std::vector<double> seconds,
                      double images_per_s) {
  seconds = dist::sum(world, std::move(seconds));
  if (!world.is_root() || steps == 0) return;
  const double per = 1.0 / (static_cast<double>(steps) * world.size());
  const double step = seconds[0] * per, allreduce = seconds[1] * per, wait = seconds[2] * per, loader = seconds[3] * per;
  log::job().info("epoch {} timing: {} steps, {:.4f} s/step, {:.2f} train images/s; all-reduce {:.4f} s/step "
                  "({:.1f}% of the step), waited for it {:.4f} s/step ({:.1f}%); loader wait {:.4f} s/step",
                  epoch, steps, step, images_per_s, allreduce, 100.0 * allreduce / std::max(1e-12, step), wait,
                  100.0 * wait / std::max(1e-12, step), loader);
}

}  // namespace

int run_train(const Config& config, const dist::World& world, const std::string& resolved_config) {
  // First thing: a Slurm signal that arrives while the data loads must not kill the ranks; the
  // loop checkpoints at its first step boundary instead.
  StopSignal::install();
  const TrainConfig& tc = config.train;
  const int classes = config.model.classes;
  // Inputs first: every problem is reported before training time is spent.
  if (tc.output.empty()) throw_config("train.output", "is empty: set the run directory");
  auto loss_options = LossOptions::from(tc, classes);
  TrainData data = open_train_data(config);
  // The epoch order: every train image samples_per_image times, shuffled per epoch, split over ranks.
  const size_t n_train = data.train.size();
  data::DistributedSampler sampler(n_train * config.data.samples_per_image, world.rank(), world.size(),
                                   static_cast<uint64_t>(tc.seed), false);
  const long steps_per_epoch = static_cast<long>(sampler.per_rank()) / tc.batch_size;
  if (steps_per_epoch == 0)
    throw_config("train.batch_size", std::to_string(tc.batch_size) + " is larger than the " +
                                         std::to_string(sampler.per_rank()) + " training samples each rank gets per epoch");
  long total_steps = tc.epochs * steps_per_epoch;
  if (tc.max_steps > 0) total_steps = std::min(total_steps, tc.max_steps);
  const LrSchedule schedule = LrSchedule::from(tc, steps_per_epoch, total_steps, world.size());

  const torch::Device device = select_device(tc.device, world.local_rank());
  const int threads = world.default_threads(tc.threads);
  at::set_num_threads(threads);
  if (tc.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  torch::manual_seed(static_cast<uint64_t>(tc.seed));

  auto model = model::make_model(config.model);
  if (tc.bn_momentum > 0)
    for (auto& m : model->modules())
      if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn->options.momentum(tc.bn_momentum);
  model->to(device);
  if (world.size() > 1) dist::broadcast_parameters(world, *model);
  torch::optim::Adam optimizer(model->trainable_parameters(),
                               torch::optim::AdamOptions(tc.lr).weight_decay(tc.weight_decay));

  const stdfs::path out = tc.output;
  if (world.is_root()) fs::create_directories(out);
  world.barrier();
  CheckpointDir ckpts(out / "checkpoints", tc.keep_checkpoints);
  TrainState state;
  state.seed = tc.seed;
  state.classes = classes;
  state.best_score = -std::numeric_limits<double>::infinity();
  if (auto path = resume_path(world, ckpts); !path.empty()) {
    if (auto saved = model::read_checkpoint_state(path); saved.classes != classes)
      throw_config("model.classes", "is " + std::to_string(classes) + " but the checkpoint to resume (" + path +
                                        ") has " + std::to_string(saved.classes));
    state = model::load_checkpoint(path, *model, &optimizer, device);
    log::job().info("resuming from {} (epoch {}, step {}, batch {} of the epoch)", path, state.epoch + 1, state.step,
                    state.batch_in_epoch);
  }
  state.config = resolved_config;

  Reporter reporter;
  if (world.is_root()) {
    if (!resolved_config.empty()) fs::write_file_atomic(out / "config.toml", resolved_config);
    reporter.csv = std::make_unique<MetricsCsv>(out / "metrics.csv", classes, state.epoch);
    reporter.events = std::make_unique<EventWriter>(out);
    reporter.previews = out / "previews";
  }

  const auto augment_params = data::AugmentParams::from(config.data);
  data::LoaderOptions loader_options{config.data.workers, config.data.prefetch, tc.batch_size,
                                     static_cast<uint64_t>(tc.seed), true};
  data::BatchLoader loader(
      [&](long position, uint64_t seed) {
        auto record = data.dataset.read(data.train[static_cast<size_t>(position) % n_train]);
        data::Sample s{record.image, record.classes, {}, record.bit_depth};
        std::mt19937_64 rng(seed);
        return data::augment(s, augment_params, rng);
      },
      loader_options);

  std::unique_ptr<dist::GradientSync> sync;
  if (world.size() > 1) sync = std::make_unique<dist::GradientSync>(world, model->parameters(), tc.bucket_mb);

  ValidationOptions val_options;
  val_options.loss = loss_options;
  val_options.segment = segment::params_from_config(config.segment);
  val_options.preview_count = tc.preview_count;
  val_options.device = device;

  log::job().info("training: {} train / {} val images, {} rank(s) x {} thread(s) on {}, batch {} per rank, {} steps "
                  "per epoch, {} steps in all",
                  n_train, data.val.size(), world.size(), threads, device.str(), tc.batch_size, steps_per_epoch,
                  total_steps);
  const auto run_start = Clock::now();
  const long first_step = state.step;
  std::string last_checkpoint;
  auto checkpoint = [&] {
    if (world.is_root()) last_checkpoint = ckpts.save(*model, &optimizer, state).string();
  };

  model->train();
  bool done = state.step >= total_steps;
  while (!done && state.epoch < tc.epochs) {
    sampler.set_epoch(static_cast<int>(state.epoch));
    std::vector<long> order;
    for (size_t i : sampler.indices()) order.push_back(static_cast<long>(i));
    loader.start_epoch(state.epoch, std::move(order), state.batch_in_epoch);
    const auto epoch_start = Clock::now();
    const auto loader_before = loader.stats();
    double loss_sum = 0;
    long loss_count = 0, epoch_images = 0;
    auto last_log = Clock::now();
    // Per epoch, summed over its steps: the step without the loader wait, the all-reduce in
    // flight (overlapped with backward or not) and what finish() waited for it.
    double step_seconds = 0, allreduce_seconds = 0, comm_wait_seconds = 0;

    while (auto batch = loader.next()) {
      const auto step_start = Clock::now();
      const double lr = learning_rate(schedule, state.step);
      set_lr(optimizer, lr);
      auto images = batch->images.to(device), targets = batch->classes.to(device);
      optimizer.zero_grad();
      auto loss = segmentation_loss(model->forward(images), targets, loss_options);
      if (sync) sync->begin_step();
      loss.backward();
      if (sync) sync->finish();
      const double value = loss.item<double>();
      if (world.any(!std::isfinite(value)))
        throw_runtime("the training loss became " + std::to_string(value) + " at step " + std::to_string(state.step + 1) +
                      " (epoch " + std::to_string(state.epoch + 1) + "); stopped without applying it. The last good "
                      "checkpoint is kept: " + (last_checkpoint.empty() ? std::string("none written yet") : last_checkpoint) +
                      ". Lower train.lr or check the data.");
      optimizer.step();
      step_seconds += since(step_start);
      if (sync) {
        allreduce_seconds += sync->last_stats().allreduce_seconds;
        comm_wait_seconds += sync->last_stats().wait_seconds;
      }
      ++state.step;
      ++state.batch_in_epoch;
      loss_sum += value;
      ++loss_count;
      epoch_images += images.size(0);

      if (world.is_root() && since(last_log) >= config.log.progress_seconds) {
        last_log = Clock::now();
        const double rate = (state.step - first_step) * tc.batch_size * world.size() / since(run_start);
        const double eta = rate > 0 ? (total_steps - state.step) * tc.batch_size * world.size() / rate : -1;
        log::job().info("epoch {}/{} step {}/{}: loss {:.4f}, {:.2f} images/s, loader {:.1f} images/s, ETA {}",
                        state.epoch + 1, tc.epochs, state.step, total_steps, value, rate,
                        loader.stats().images_per_s(config.data.workers), log::format_duration(eta));
      }
      const bool stop = dist::agree_to_stop(world);
      done = state.step >= total_steps;
      if (stop || (tc.checkpoint_every > 0 && state.step % tc.checkpoint_every == 0 && !done)) checkpoint();
      if (stop) {
        world.barrier();  // nobody exits (non-zero) before rank 0 has renamed its checkpoint
        // Rank 0 speaks for the job but may not be the rank that was signalled.
        const int signal = StopSignal::signal_number();
        log::job().warn("stop signal ({}): checkpoint written at step {}; exiting with {} (requeue)",
                        signal ? "signal " + std::to_string(signal) : std::string("on another rank"), state.step,
                        exit_codes::requeue);
        return exit_codes::requeue;
      }
      if (done) break;
    }

    // End of the epoch (or of the run, when max_steps ends it early).
    const double train_seconds = since(epoch_start);  // before validation
    log_epoch_timing(world, state.epoch + 1, loss_count, {step_seconds, allreduce_seconds, comm_wait_seconds,
                                                          loader.stats().wait_seconds - loader_before.wait_seconds},
                     epoch_images * world.size() / std::max(1e-9, train_seconds));
    const bool epoch_complete = !done || state.batch_in_epoch >= loader.batches_in_epoch();
    const long epoch_number = state.epoch + 1;
    if (epoch_complete) {
      ++state.epoch;
      state.batch_in_epoch = 0;
    }
    const bool last = done || state.epoch >= tc.epochs;
    if (epoch_number % tc.val_every == 0 || last) {
      auto v = validate(model, data.dataset, data.val, val_options, world);
      const bool scored = classes == 3;
      const double score = scored ? v.object_score : -v.loss;  // without instances, rank by val loss
      const bool best = score > state.best_score;
      if (best) {
        state.best_score = score;
        state.best_step = state.step;
      }
      const double train_loss = world.sum(loss_sum) / std::max(1L, world.sum(loss_count));
      if (world.is_root()) {
        const auto ls = loader.stats();
        EpochMetrics m;
        m.epoch = epoch_number;
        m.step = state.step;
        m.images_per_s = epoch_images * world.size() / std::max(1e-9, train_seconds);
        m.train_loss = train_loss;
        m.val_loss = v.loss;
        m.pixel_accuracy = v.confusion.pixel_accuracy();
        for (int k = 0; k < classes; ++k) m.iou.push_back(v.confusion.iou(k));
        m.object_score = v.object_score;
        m.lr = learning_rate(schedule, std::max(0L, state.step - 1));
        m.wall_seconds = since(run_start);
        reporter.report(m, v, classes);
        if (best) ckpts.save_best(*model, state);
        log::job().info("epoch {}: train loss {:.4f}, val loss {:.4f}, pixel accuracy {:.4f}, object score {:.4f}{}; "
                        "{:.2f} images/s (loader {:.1f} images/s, waited {:.1f} s)",
                        epoch_number, m.train_loss, m.val_loss, m.pixel_accuracy, m.object_score, best ? " (best)" : "",
                        m.images_per_s, ls.images_per_s(config.data.workers),
                        ls.wait_seconds - loader_before.wait_seconds);
      }
    }
    checkpoint();
    world.barrier();
  }
  log::job().info("training finished at step {} in {}; best object score {:.4f} (step {})", state.step,
                  log::format_duration(since(run_start)), state.best_score, state.best_step);
  return exit_codes::ok;
}

}  // namespace nucseg::train
