#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole nucseg test suite.
# Usage: tools/test.sh [ctest arguments...]   e.g. tools/test.sh -L unit
#   NUCSEG_BUILD_DIR  build folder (default: build)
#   NUCSEG_JOBS       parallel build jobs (default: nproc)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/tools/install_deps.sh" --with-slurm

build_dir=${NUCSEG_BUILD_DIR:-build}
jobs=${NUCSEG_JOBS:-$(nproc)}
# OpenMPI refuses to start as root unless told; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNUCSEG_BUILD_TESTS=ON
cmake --build "$build_dir" -j "$jobs"
cd "$build_dir"
ctest --output-on-failure -j "$jobs" "$@"
