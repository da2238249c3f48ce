# The training and inference comparisons of tools/gpu_check.sh (sourced after lib.sh).
# shellcheck shell=bash

make_data() {
  local apps=$1 data=$2
  mkdir -p "$data"
  with_prefix "$apps/nucseg_synth" --log-level warn --set synth.output="$data/train" --set synth.count=24 \
    --set synth.seed=3 --set synth.min_side=256 --set synth.max_side=320 >/dev/null
  with_prefix "$apps/nucseg_pack" --log-level warn --set pack.input="$data/train" --set pack.output="$data/shards" \
    --set pack.val_fraction=0.15 >/dev/null
  with_prefix "$apps/nucseg_synth" --log-level warn --set synth.output="$data/heldout" --set synth.count=12 \
    --set synth.seed=11 --set synth.min_side=256 --set synth.max_side=512 >/dev/null
}

# train_run <out> <device> <ranks> <steps> <batch per rank> <crop>: the trainer's log in <out>.log.
train_run() {
  local out=$1 device=$2 ranks=$3 steps=$4 batch=$5 crop=$6
  local args=(--log-level info --set data.shards="$work/data/shards" --set train.output="$out"
    --set train.device="$device" --set train.max_steps="$steps" --set train.epochs=1000 --set train.batch_size="$batch"
    --set data.crop="$crop" --set data.samples_per_image=64 --set data.workers=2 --set train.seed=5
    --set train.preview_count=0 --set log.progress_seconds=0)
  rm -rf "$out"
  # CUDA_VISIBLE_DEVICES=0: with 2 ranks both take GPU 0 (local rank mod 1), sharing it.
  if [[ $ranks == 1 ]]; then
    CUDA_VISIBLE_DEVICES=0 with_prefix "$apps/nucseg_train" "${args[@]}" >"$out.log" 2>&1
  else
    CUDA_VISIBLE_DEVICES=0 with_prefix mpiexec.openmpi -n "$ranks" --bind-to none "$apps/nucseg_train" "${args[@]}" \
      >"$out.log" 2>&1
  fi || { echo "gpu_check: training failed, see $out.log" >&2; tail -n 20 "$out.log" >&2; return 1; }
}

# "step loss" per logged step (rank 0's loss, logged every step with log.progress_seconds = 0).
step_losses() { sed -n 's/.* step \([0-9]*\)\/[0-9]*: loss \([0-9.eE+-]*\),.*/\1 \2/p' "$1"; }
# The last progress line's images/s (averaged since the run started, first steps included).
train_rate() { sed -n 's/.*: loss [0-9.eE+-]*, \([0-9.]*\) images\/s.*/\1/p' "$1" | tail -n1; }

# compare_losses <cpu log> <gpu log> <tolerance> <what>: every step's loss within tolerance, relative.
compare_losses() {
  local table
  table=$(join <(step_losses "$1" | sort -k1,1) <(step_losses "$2" | sort -k1,1) | sort -n)
  [[ -n $table ]] || { note "$4: no step losses in the logs"; return 1; }
  awk -v tol="$3" -v what="$4" '
    { d = $3 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > worst) worst = r; n++
      rows = rows sprintf("    step %3d  cpu %.4f  gpu %.4f  rel %.2e\n", $1, $2, $3, r) }
    END { printf "%s: %d steps, largest relative difference %.2e (tolerance %g): %s\n%s", what, n, worst, tol,
                 worst <= tol ? "ok" : "FAILED", rows; exit worst <= tol ? 0 : 1 }' <<<"$table" | tee -a "$summary"
}

compare_training() {
  local apps=$1 out=$3 steps=$4 tol=$5 rc=0
  mkdir -p "$out"
  for layout in "1 4" "2 2"; do
    read -r ranks batch <<<"$layout"
    train_run "$out/cpu-$ranks" cpu "$ranks" "$steps" "$batch" 128 || return 1
    train_run "$out/gpu-$ranks" cuda "$ranks" "$steps" "$batch" 128 || return 1
    compare_losses "$out/cpu-$ranks.log" "$out/gpu-$ranks.log" "$tol" \
      "training, $ranks rank(s) x batch $batch, crop 128: GPU vs CPU step losses" || rc=1
  done
  # Throughput, and the model the inference comparison uses (trained further on the GPU).
  train_run "$out/gpu-speed" cuda 1 200 16 256 || return 1
  train_run "$out/cpu-speed" cpu 1 10 16 256 || return 1
  note "training images/s, batch 16, crop 256, 1 rank: GPU $(train_rate "$out/gpu-speed.log") (200 steps), CPU $(train_rate "$out/cpu-speed.log") (10 steps)"
  return "$rc"
}

# infer_run <out> <device> <precision>: the last progress line's images/s.
infer_run() {
  local out=$1
  rm -rf "$out"
  CUDA_VISIBLE_DEVICES=0 with_prefix "$apps/nucseg_infer" --log-level info --set infer.model="$work/train/gpu-speed" \
    --set infer.input="$work/data/heldout" --set infer.output="$out" --set infer.device="$2" \
    --set infer.precision="$3" >"$out.log" 2>&1 || { echo "gpu_check: inference failed, see $out.log" >&2; return 1; }
  sed -n 's/.* \([0-9.e+-]*\) images\/s.*/\1/p' "$out.log" | tail -n1
}

compare_inference() {
  local apps=$1 out=$4 rc=0 rate p min
  mkdir -p "$out"
  rate=$(infer_run "$out/cpu" cpu float32) || return 1
  note "inference images/s, CPU float32: $rate"
  for p in float32 bfloat16 float16; do
    rate=$(infer_run "$out/gpu-$p" cuda "$p") || return 1
    note "inference images/s, GPU $p: $rate"
    # The gate is float32's; the lower precisions are reported against the same bar.
    min=0.995
    if "$python" "$here/compare_labels.py" "$out/cpu/segmentation.h5" "$out/gpu-$p/segmentation.h5" --min "$min" \
      | tee -a "$summary"; then :; elif [[ $p == float32 ]]; then rc=1; fi
  done
  return "$rc"
}
