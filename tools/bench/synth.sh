#!/usr/bin/env bash
# Benchmark of nucseg_synth: images/s per style at 256x256 on one core, the cost of writing the
# Kaggle layout relative to generating, time and peak memory of one 8192x8192 image, and the
# classical baseline's Kaggle score on a 40-image mixed set of 256-512 px images.
# Usage: tools/bench/synth.sh [images=200] [big_side=8192]
#   NUCSEG_BUILD_DIR  build folder (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NUCSEG_BUILD_DIR:-$root/build}
images=${1:-200}
big=${2:-8192}
cmake --build "$build" --target synth_bench nucseg_synth -j 2 > /dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== generator speed (one core)"
OMP_NUM_THREADS=1 "$build/tests/synth/synth_bench" "$images" 256 "$big" "$tmp"

echo "== classical baseline (Otsu + distance transform + watershed), 40 mixed images 256-512 px"
"$build/src/apps/nucseg_synth" --log-level warn --set synth.output="$tmp/data" --set synth.count=40 \
  --set synth.seed=2018 --set synth.min_side=256 --set synth.max_side=512
/usr/bin/python3 "$root/tools/classical_baseline.py" "$tmp/data" | tail -1
