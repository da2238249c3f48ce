#!/usr/bin/env bash
# The network's speed next to the PyTorch peer, measured in the same run:
# training steps (forward, cross-entropy, backward, Adam) and inference at 128 and 256,
# batch 16, 2 threads, with a trainable and a frozen encoder, and training with bfloat16
# products in the decoder (train.precision = bfloat16) against the same peer rate.
# Usage: tools/bench/model.sh [build-dir]   (env: STEPS=5 SIZES="128 256" BATCH=16 THREADS=2)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
peer_dir=${PEER_DIR:-$root/../shared/peers}
[[ -f $peer_dir/peer_unet.py ]] || peer_dir=/work/shared/peers
steps=${STEPS:-5}; batch=${BATCH:-16}; threads=${THREADS:-2}; sizes=${SIZES:-128 256}
py=/usr/bin/python3

ninja -C "$build" -j2 nucseg_model_bench >/dev/null
bench=$build/tests/model/nucseg_model_bench

field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" <<<"$2" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '%-6s %-10s %12s %12s %7s\n' size what nucseg peer ratio
for size in $sizes; do
  common=(--size "$size" --batch "$batch" --threads "$threads" --steps "$steps")
  ours=$("$bench" "${common[@]}")
  grep -q WARNING <<<"$ours" && grep WARNING <<<"$ours" >&2
  peer=$("$py" "$peer_dir/peer_unet.py" "${common[@]}")
  ours_f=$("$bench" "${common[@]}" --frozen --train-only)
  ours_b=$("$bench" "${common[@]}" --bf16-train --train-only)
  peer_f=$("$py" "$root/tools/bench/peer_frozen.py" "$peer_dir" "${common[@]}")
  for kind in train infer; do
    o=$(field ${kind}_img_per_s "$ours"); p=$(field ${kind}_img_per_s "$peer")
    printf '%-6s %-10s %12s %12s %7s\n' "$size" "$kind" "$o" "$p" "$(ratio "$o" "$p")"
  done
  o=$(field train_img_per_s "$ours_b"); p=$(field train_img_per_s "$peer")
  printf '%-6s %-10s %12s %12s %7s\n' "$size" train-bf16 "$o" "$p" "$(ratio "$o" "$p")"
  o=$(field train_img_per_s "$ours_f"); p=$(field train_img_per_s "$peer_f")
  printf '%-6s %-10s %12s %12s %7s\n' "$size" train-frz "$o" "$p" "$(ratio "$o" "$p")"
done
echo "(images/s; batch $batch, $threads threads, $steps timed steps; $(field gemm_gflops "$ours") GFLOP/s GEMM)"
