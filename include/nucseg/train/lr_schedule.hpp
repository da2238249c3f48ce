// The learning rate as a pure function of the optimizer step: linear warm-up, then constant,
// cosine decay to zero at the last step, or a step decay every `step_epochs` epochs. With
// scale_with_ranks the base rate is multiplied by the number of ranks (the linear scaling
// rule for a global batch that grows with the ranks; pair it with warm-up).
#pragma once

#include <string>

#include "nucseg/core/config.hpp"

namespace nucseg::train {

struct LrSchedule {
  double base_lr = 1e-3;
  std::string kind = "constant";  // constant, cosine, step
  long warmup_steps = 0;
  long total_steps = 1;      // steps of the whole run (cosine reaches 0 there)
  long steps_per_epoch = 1;  // for the step schedule
  long step_epochs = 10;
  double gamma = 0.1;
  int ranks = 1;
  bool scale_with_ranks = false;

  static LrSchedule from(const TrainConfig& train, long steps_per_epoch, long total_steps, int ranks);
};

// step: 0-based, before it is taken. `time_fraction` (0..1) is the share of train.time_limit
// used so far (0 without a limit): the cosine follows the larger of it and the step fraction,
// so a time-limited run decays to 0 at its budget however many steps fit in it.
double learning_rate(const LrSchedule& schedule, long step, double time_fraction = 0.0);

}  // namespace nucseg::train
