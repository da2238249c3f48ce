#include "nucseg/train/time_budget.hpp"

#include <algorithm>

namespace nucseg::train {

double TimeBudget::fraction(double elapsed, double reserve) const {
  if (!enabled()) return 0.0;
  const double span = limit_ - std::max(0.0, reserve);
  return span > 0 ? std::clamp(used(elapsed) / span, 0.0, 1.0) : 1.0;
}

bool TimeBudget::stop_before_next_step(double elapsed, double step_seconds, double reserve) const {
  return enabled() && used(elapsed) + std::max(0.0, step_seconds) + std::max(0.0, reserve) > limit_;
}

}  // namespace nucseg::train
