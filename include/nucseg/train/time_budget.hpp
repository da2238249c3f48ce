// train.time_limit: a wall-clock budget for a run's training, counted over all its invocations
// (the checkpoint records the seconds used, TrainState::train_seconds), so a preempted and
// requeued run does not get a fresh budget and rerunning a run that used its budget does
// nothing, as with train.max_steps. Pure arithmetic on seconds: the trainer measures, rank 0
// decides, and the decision is shared with every rank (trainer.cpp).
#pragma once

namespace nucseg::train {

class TimeBudget final {
 public:
  // limit_seconds 0: no limit. used_before: seconds the run had used when this invocation began.
  TimeBudget(double limit_seconds, double used_before) : limit_(limit_seconds), used_before_(used_before) {}

  bool enabled() const { return limit_ > 0; }
  double limit() const { return limit_; }
  // Seconds used by the run after `elapsed` seconds of this invocation.
  double used(double elapsed) const { return used_before_ + elapsed; }
  // Share of the budget used (0 without a limit), at most 1: drives the cosine schedule. The
  // last `reserve` seconds (the final validation, which runs after the last step) are not part
  // of the span, so the schedule ends with the last step rather than with the budget.
  double fraction(double elapsed, double reserve = 0.0) const;
  // True when the budget is spent, or when one more step (`step_seconds`, the mean so far) and
  // `reserve` seconds (what must still run after it: the validations the stop entails) would
  // go past it. Always false without a limit.
  bool stop_before_next_step(double elapsed, double step_seconds, double reserve) const;

 private:
  double limit_;
  double used_before_;
};

}  // namespace nucseg::train
