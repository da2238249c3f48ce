#!/usr/bin/env bash
# Scaling benchmark, all-reduce part: the fused-bucket gradient all-reduce (GradientSync) on
# the real model's parameter set against one raw MPI_Allreduce of the same bytes, in the same
# run, with 2 ranks; plus how much of it hides behind a synthetic backward.
# Usage: tools/bench/scale.sh [allreduce_bench options, e.g. --iters 20 --work spin]
#   NUCSEG_BUILD_DIR  build folder (default: build)   NUCSEG_RANKS  ranks (default: 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${NUCSEG_BUILD_DIR:-$root/build}
ranks=${NUCSEG_RANKS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build_dir" -j2 nucseg_allreduce_bench >/dev/null
bench=$(find "$build_dir" -name nucseg_allreduce_bench -type f -perm -u+x | head -n1)

echo "== all-reduce: fused buckets vs one raw MPI_Allreduce ($ranks ranks, $(nproc) cores, $(hostname -s))"
echo "-- backward that leaves the CPU free (as on a GPU):"
mpiexec -n "$ranks" --oversubscribe --bind-to none "$bench" --work sleep "$@"
echo "-- backward that keeps every core busy (CPU training):"
mpiexec -n "$ranks" --oversubscribe --bind-to none "$bench" --work spin --buckets-mb 4 "$@"
