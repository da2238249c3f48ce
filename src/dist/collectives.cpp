#include "nucseg/dist/collectives.hpp"

#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/core/signals.hpp"

namespace nucseg::dist {
namespace {

// A length mismatch would make MPI read past a buffer or hang: check first, on every rank.
void check_same_length(const World& world, size_t length, const char* what) {
  if (!all_equal(world, static_cast<uint64_t>(length)))
    throw_runtime(std::string(what) + ": ranks passed vectors of different lengths (this rank: " +
                  std::to_string(length) + ")");
}

}  // namespace

bool agree_to_stop(const World& world) { return world.any(StopSignal::requested()); }

bool all_equal(const World& world, uint64_t value) {
  uint64_t in[2] = {value, ~value};  // max of value and max of ~value = ~min of value
  uint64_t out[2] = {0, 0};
  NUCSEG_MPI_CHECK(MPI_Allreduce(in, out, 2, MPI_UINT64_T, MPI_MAX, world.comm()));
  return out[0] == value && ~out[1] == value;
}

void sum_in_place(const World& world, std::vector<double>& values) {
  if (world.size() == 1) return;
  check_same_length(world, values.size(), "sum_in_place");
  if (values.empty()) return;
  NUCSEG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                                 world.comm()));
}

std::vector<double> sum(const World& world, std::vector<double> values) {
  sum_in_place(world, values);
  return values;
}

void sum_in_place(const World& world, std::vector<int64_t>& values) {
  if (world.size() == 1) return;
  check_same_length(world, values.size(), "sum_in_place");
  if (values.empty()) return;
  NUCSEG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_INT64_T, MPI_SUM,
                                 world.comm()));
}

}  // namespace nucseg::dist
