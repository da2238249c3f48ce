#!/usr/bin/env bash
# The REAL trainer's speed next to the PyTorch peer, measured in the same run: generates a small
# dataset (nucseg_synth), packs it (nucseg_pack), runs nucseg_train for a few dozen steps at
# crop 128 and then 256 (batch 16, train.threads 2, random encoder: every layer trains, as in
# the peer) and prints its images/s and its loader's images/s (from the epoch log line) beside
# peer_unet.py's training images/s at the same size, batch and threads.
# The trainer's rate includes its input pipeline and first step; the peer's excludes both.
# Each train.precision in PRECISIONS gets a row (bfloat16: the decoder's products; on a CPU
# without AVX512-BF16 or AMX oneDNN emulates it, slower).
# Usage: tools/bench/train.sh [build-dir]   (env: SIZES="128 256" BATCH=16 THREADS=2
#                                           STEPS_128=20 STEPS_256=8 IMAGES=12
#                                           PRECISIONS="float32 bfloat16")
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${NUCSEG_BUILD_DIR:-$root/build}}
peer_dir=${PEER_DIR:-$root/../shared/peers}
[[ -f $peer_dir/peer_unet.py ]] || peer_dir=/work/shared/peers
batch=${BATCH:-16}; threads=${THREADS:-2}; sizes=${SIZES:-128 256}; images=${IMAGES:-12}
precisions=${PRECISIONS:-float32 bfloat16}
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ninja -C "$build" -j2 nucseg_synth nucseg_pack nucseg_train >/dev/null
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-bench-train.XXXXXX")
trap 'rm -rf "$t"' EXIT

"$build/src/apps/nucseg_synth" --log-level warn --set synth.output="$t/data" --set synth.count="$images" \
  --set synth.min_side=256 --set synth.max_side=384
"$build/src/apps/nucseg_pack" --log-level warn --set pack.input="$t/data" --set pack.output="$t/shards"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
uptime_load() { awk '{ print $1, $2, $3 }' /proc/loadavg; }

printf '%-6s %-9s %6s %12s %12s %12s %7s\n' crop precision steps nucseg loader peer ratio
for size in $sizes; do
  steps_var=STEPS_$size; steps=${!steps_var:-12}
  peer=$("$py" "$peer_dir/peer_unet.py" --size "$size" --batch "$batch" --threads "$threads" --steps "$steps" |
         sed -n 's/.*train_img_per_s \([0-9.]*\).*/\1/p')
  for precision in $precisions; do
    # One epoch holds more crops than the run needs; max_steps ends it, then one validation.
    log="$t/train-$size-$precision.log"
    "$build/src/apps/nucseg_train" --log-level info \
      --set data.shards="$t/shards" --set data.crop="$size" --set data.samples_per_image=64 \
      --set train.output="$t/run-$size-$precision" --set train.epochs=1 --set train.max_steps="$steps" \
      --set train.batch_size="$batch" --set train.threads="$threads" --set train.preview_count=0 \
      --set train.precision="$precision" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    line=$(grep -E 'epoch 1: train loss' "$log" | tail -1)
    ours=$(sed -n 's/.* \([0-9.]*\) images\/s (loader.*/\1/p' <<<"$line")
    loader=$(sed -n 's/.*(loader \([0-9.]*\) images\/s.*/\1/p' <<<"$line")
    printf '%-6s %-9s %6s %12s %12s %12s %7s\n' "$size" "$precision" "$steps" "$ours" "$loader" "$peer" \
      "$(ratio "$ours" "$peer")"
  done
done
echo "(training images/s; batch $batch, $threads threads; load average at the end: $(uptime_load))"
