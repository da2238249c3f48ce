#!/bin/bash
# Pack throughput against the cost of merely decoding the same inputs, in the same run.
#   tools/bench/pack.sh [build dir] [image count]
# Generates a Kaggle-layout folder (256-512 px images, one mask PNG per nucleus) in a temp
# dir, then times, with nucseg_pack's own clock (process and MPI start-up excluded):
#   decode: pack.dry_run=true (decode image + all masks + targets, write nothing)
#   pack:   the full job (decode + gzip/shuffle HDF5 shards + checksums + index.h5)
# for 1 and 2 ranks, and prints images/s, MB/s (input file bytes) and pack/decode.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
count=${2:-60}
pack=$build/src/apps/nucseg_pack
[ -x "$pack" ] || { echo "no $pack: build the nucseg_pack target first" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/nucseg_bench_pack.XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$root/tests/pack/make_kaggle.py" "$work/in" --count "$count" --min-side 256 --max-side 512 --seed 1
in_mb=$(du -sb "$work/in" | awk '{printf "%.2f", $1 / 1e6}')
files=$(find "$work/in" -type f | wc -l)
echo "input: $count images, $files files, $in_mb MB (Kaggle layout, one mask PNG per nucleus)"

# Seconds from nucseg_pack's summary line "...; <s> s, ...".
run() {
  local ranks=$1; shift
  local cmd=("$pack" --set pack.input="$work/in" --set pack.output="$work/out" --set pack.overwrite=true --log-level info "$@")
  if [ "$ranks" -gt 1 ]; then cmd=(mpiexec -n "$ranks" --oversubscribe --bind-to none "${cmd[@]}"); fi
  "${cmd[@]}" 2>&1 | sed -n 's/.* rejected, .*; \([0-9.]*\) s,.*/\1/p' | tail -1
}

printf "%-6s %-7s %9s %10s %9s %12s\n" ranks stage seconds images/s MB/s pack/decode
for ranks in 1 2; do
  d=$(run "$ranks" --set pack.dry_run=true)
  p=$(run "$ranks")
  for stage in decode pack; do
    s=$([ $stage = decode ] && echo "$d" || echo "$p")
    ratio=$([ $stage = pack ] && awk -v p="$p" -v d="$d" 'BEGIN{printf "%.2f", p / d}' || echo "-")
    awk -v r="$ranks" -v st="$stage" -v s="$s" -v n="$count" -v mb="$in_mb" -v q="$ratio" \
      'BEGIN{printf "%-6s %-7s %9.2f %10.1f %9.1f %12s\n", r, st, s, n / s, mb / s, q}'
  done
done
du -sb "$work/out" | awk -v mb="$in_mb" '{printf "shards: %.2f MB (%.0f%% of the input bytes)\n", $1 / 1e6, 100 * $1 / 1e6 / mb}'
