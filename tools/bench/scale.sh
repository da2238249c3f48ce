#!/usr/bin/env bash
# Scaling benchmark, in two parts measured in one run.
# 1. Training: the real nucseg_train on generated, packed data, 1 rank x 2 threads against
#    2 ranks x 1 thread at the same global batch: train images/s, the efficiency ratio, and
#    from the trainer's per-epoch timing line the all-reduce time per step against the step
#    time (and how much of it the optimizer step waited for). The first epoch is warm-up
#    (oneDNN primitive creation); numbers are from the last epoch.
# 2. All-reduce: the fused-bucket gradient all-reduce (GradientSync) on the real model's
#    parameter set against one raw MPI_Allreduce of the same bytes (target: fused within 1.25x
#    of raw), plus how much of it hides behind a synthetic backward (the overlap).
# Usage: tools/bench/scale.sh [allreduce_bench options, e.g. --iters 20]
#   NUCSEG_BUILD_DIR  build folder (default: build)   NUCSEG_RANKS  ranks (default: 2)
#   env: CROP=128 BATCH=8 (global) EPOCHS=2 STEPS=4 (per epoch); TRAIN=0 / ALLREDUCE=0 skip a part
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${NUCSEG_BUILD_DIR:-$root/build}
ranks=${NUCSEG_RANKS:-2}
crop=${CROP:-128}; batch=${BATCH:-8}; epochs=${EPOCHS:-2}; steps=${STEPS:-4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build_dir" -j2 nucseg_allreduce_bench nucseg_synth nucseg_pack nucseg_train >/dev/null
bench=$(find "$build_dir" -name nucseg_allreduce_bench -type f -perm -u+x | head -n1)
apps=$build_dir/src/apps
echo "machine: $(nproc) cores, $(hostname -s); load at start:$(uptime | sed 's/.*load average://')"

if [[ ${TRAIN:-1} != 0 ]]; then
  t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-bench-scale.XXXXXX")
  trap 'rm -rf "$t"' EXIT
  # 16 images of 128..160 px (2 held out for validation by pack's hash split, give or take):
  # samples_per_image sets the epoch to about STEPS steps of the global batch.
  "$apps/nucseg_synth" --log-level warn --set synth.output="$t/raw" --set synth.count=16 --set synth.seed=3 \
    --set synth.min_side="$crop" --set synth.max_side=$((crop + 32)) >/dev/null
  "$apps/nucseg_pack" --log-level warn --set pack.input="$t/raw" --set pack.output="$t/shards" \
    --set pack.val_fraction=0.15 >/dev/null
  train_images=$(h5dump -a /train_images "$t/shards/index.h5" | sed -n 's/^ *(0): *\([0-9]*\).*/\1/p')
  spi=$(( (steps * batch + train_images - 1) / train_images ))

  # run <name> <ranks> <threads per rank> [VAR=value...]: prints "images/s step_s allreduce_s
  # wait_s" of the last epoch.
  run() {
    local name=$1 n=$2 threads=$3
    shift 3
    env "$@" mpiexec -n "$n" --bind-to none "$apps/nucseg_train" --log-level info \
      --set data.shards="$t/shards" --set train.output="$t/run-$name" --set data.crop="$crop" \
      --set data.samples_per_image="$spi" --set data.workers=1 --set train.batch_size=$((batch / n)) \
      --set train.threads="$threads" --set train.epochs="$epochs" --set train.preview_count=0 \
      --set train.seed=5 >"$t/$name.log" 2>&1 || { cat "$t/$name.log" >&2; return 1; }
    sed -n "s/.*epoch $epochs timing: .*, \([0-9.]*\) s\/step, \([0-9.]*\) train images\/s; all-reduce \([0-9.]*\) s\/step.*waited for it \([0-9.]*\) s\/step.*/\2 \1 \3 \4/p" \
      "$t/$name.log" | tail -n1
  }
  echo "== training: nucseg_train, ${crop}x${crop} crops, global batch $batch, $epochs epochs of ~$steps steps ($train_images train images x $spi)"
  # (assignments first: a failed run then stops the script under set -e)
  out=$(run single 1 2); read -r ips1 step1 _ _ <<<"$out"
  out=$(run multi 2 1); read -r ips2 step2 ar2 wait2 <<<"$out"
  # OpenMPI busy-polls inside MPI_Allreduce; with one core per rank the communication thread's
  # polling competes with backward. Yielding when idle is the usual remedy; measured beside it.
  out=$(run yield 2 1 OMPI_MCA_mpi_yield_when_idle=1); read -r ips3 step3 ar3 wait3 <<<"$out"
  [[ -n $ips1 && -n $ips2 && -n $ips3 ]] || { echo "scale.sh: no 'epoch $epochs timing' line in a trainer log" >&2; exit 1; }
  row() { printf '%-36s %9s %8s %15s %13s %11s\n' "$@"; }
  row layout images/s s/step "all-reduce/step" "waited/step" efficiency
  row "1 rank x 2 threads" "$ips1" "$step1" - - 1.00
  for r in "2 ranks x 1 thread|$ips2|$step2|$ar2|$wait2" "2 ranks x 1 thread, yield_when_idle|$ips3|$step3|$ar3|$wait3"; do
    IFS='|' read -r name ips step ar wait <<<"$r"
    row "$name" "$ips" "$step" "$(awk -v a="$ar" -v s="$step" 'BEGIN { printf "%.3f (%.0f%%)", a, 100 * a / s }')" \
      "$(awk -v w="$wait" -v s="$step" 'BEGIN { printf "%.3f (%.0f%%)", w, 100 * w / s }')" \
      "$(awk -v a="$ips" -v b="$ips1" 'BEGIN { printf "%.2f", a / b }')"
  done
  echo "efficiency: images/s against 1 rank x 2 threads at the same global batch; all-reduce: time in"
  echo "MPI_Allreduce per step (in flight, mostly during backward); waited: what the optimizer step waited for it"
fi

if [[ ${ALLREDUCE:-1} == 0 ]]; then echo "load at end:$(uptime | sed 's/.*load average://')"; exit 0; fi

echo "== all-reduce: fused buckets vs one raw MPI_Allreduce ($ranks ranks)"
echo "-- backward that leaves the CPU free (as on a GPU):"
mpiexec -n "$ranks" --bind-to none "$bench" --work sleep "$@"
echo "-- backward that keeps every core busy (CPU training; 64 MB holds every gradient in one bucket, as the CPU default of train.bucket_mb does):"
mpiexec -n "$ranks" --bind-to none "$bench" --work spin --buckets-mb 4,64 "$@"
echo "load at end:$(uptime | sed 's/.*load average://')"
