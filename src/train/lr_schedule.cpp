#include "nucseg/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

#include "nucseg/core/error.hpp"

namespace nucseg::train {

LrSchedule LrSchedule::from(const TrainConfig& train, long steps_per_epoch, long total_steps, int ranks) {
  LrSchedule s;
  s.base_lr = train.lr;
  s.kind = train.lr_schedule;
  s.warmup_steps = train.warmup_steps;
  s.total_steps = std::max(1L, total_steps);
  s.steps_per_epoch = std::max(1L, steps_per_epoch);
  s.step_epochs = train.lr_step_epochs;
  s.gamma = train.lr_step_gamma;
  s.ranks = ranks;
  s.scale_with_ranks = train.lr_scale_with_ranks;
  return s;
}

double learning_rate(const LrSchedule& s, long step, double time_fraction) {
  const double base = s.base_lr * (s.scale_with_ranks ? std::max(1, s.ranks) : 1);
  step = std::max(0L, step);
  if (step < s.warmup_steps) return base * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  if (s.kind == "constant") return base;
  if (s.kind == "cosine") {
    const long span = std::max(1L, s.total_steps - s.warmup_steps);
    const double steps = static_cast<double>(step - s.warmup_steps) / static_cast<double>(span);
    const double t = std::clamp(std::max(steps, time_fraction), 0.0, 1.0);
    return base * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (s.kind == "step") {
    const long epoch = step / std::max(1L, s.steps_per_epoch);
    return base * std::pow(s.gamma, static_cast<double>(epoch / std::max(1L, s.step_epochs)));
  }
  throw_config("train.lr_schedule", "unknown schedule \"" + s.kind + "\" (allowed: constant, cosine, step)");
}

}  // namespace nucseg::train
