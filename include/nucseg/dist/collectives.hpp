// Small collectives the trainer needs besides the gradient all-reduce (torch-free).
#pragma once

#include <cstdint>
#include <vector>

#include "nucseg/dist/world.hpp"

namespace nucseg::dist {

// Graceful stop across ranks: true on every rank when any rank received SIGTERM/SIGINT/SIGUSR1
// (nucseg::StopSignal). Call it at step boundaries only, after GradientSync::finish() and before
// the next forward, never while a gradient all-reduce is in flight: every rank then leaves
// the loop after the same step and no rank is left waiting in a collective.
bool agree_to_stop(const World& world);

// Element-wise sum over ranks, in place (validation metrics: sums of losses, counts, TP/FP/FN,
// per-class intersections and unions; divide after the sum so the result equals a single-rank
// evaluation). Every rank must pass the same length; a mismatch is an error on every rank.
void sum_in_place(const World& world, std::vector<double>& values);
std::vector<double> sum(const World& world, std::vector<double> values);
void sum_in_place(const World& world, std::vector<int64_t>& values);

// True on every rank when `value` is the same on all ranks.
bool all_equal(const World& world, uint64_t value);

}  // namespace nucseg::dist
