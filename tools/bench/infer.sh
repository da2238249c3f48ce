#!/usr/bin/env bash
# nucseg_infer throughput next to the PyTorch peer's inference, measured in the same run:
# images/s and megapixels/s at 256x256 and 520x696 (N images each) and one 4096x4096 image,
# on 1 and 2 ranks (THREADS intra-op threads in total), plus the peak RSS of the large image.
# images/s is end to end (mpiexec, library loading, model load, assembly); "steady" is the
# run's own final progress line (images since the first one started), which is what a long
# archive run sees. Ranks are not bound to cores (mpirun binds to one core by default at <= 2
# ranks, where 2 threads would share it).
# The model is an untrained checkpoint with calibrated BatchNorm statistics (speed depends on
# the activations' scale, not on what the weights learned).
# Usage: tools/bench/infer.sh [build-dir]   (env: N=48 THREADS=2 BIG=4096 PRECISION=auto)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${NUCSEG_BUILD_DIR:-$root/build}}
peer_dir=${PEER_DIR:-$root/../shared/peers}
[[ -f $peer_dir/peer_unet.py ]] || peer_dir=/work/shared/peers
n=${N:-48}; threads=${THREADS:-2}; big=${BIG:-4096}; precision=${PRECISION:-auto}
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ninja -C "$build" -j2 nucseg_infer make_checkpoint >/dev/null
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-bench-infer.XXXXXX")
trap 'rm -rf "$t"' EXIT
# BatchNorm statistics calibrated on random images: an untrained network with its initial
# statistics runs up to 3x slower than a trained one, and the peer is timed after training.
"$build/tests/infer/make_checkpoint" "$t/model.pt" 3 8

# Random-texture RGB images of one size in a folder.
make_images() {  # dir h w count
  "$py" - "$@" <<'PY'
import sys, os, numpy as np, cv2
d, h, w, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(n):
    cv2.imwrite(f"{d}/img{i:03d}.png", cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), np.uint8), (9, 9), 3))
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '%-10s %5s %10s %10s %10s %12s %10s %7s %7s\n' size ranks images/s MP/s steady peer_img/s peer_MP/s ratio steady
for spec in "256 256 $n" "520 696 $n" "$big $big 1"; do
  read -r h w count <<<"$spec"
  make_images "$t/in-$h" "$h" "$w" "$count"
  # The peer at the same size and threads, batch 1, best of two runs (its rate varies by up to
  # 2x between runs here). peer_unet.py takes square sizes: it runs the longer side rounded up to
  # 32, and its rate is scaled to the image's own padded area (520x696: 704x704 -> 544x704).
  # A 4096 image is 64 tiles of 512 for the peer: its 512x512 rate scaled to whole images.
  ph=$(( (h + 31) / 32 * 32 )); pw=$(( (w + 31) / 32 * 32 )); side=$(( ph > pw ? ph : pw ))
  psize=$((side > 1024 ? 512 : side))
  peer=0
  for attempt in 1 2; do
    p=$("$py" "$peer_dir/peer_unet.py" --size "$psize" --batch 1 --threads "$threads" --steps 6 |
        sed -n 's/.*infer_img_per_s \([0-9.]*\).*/\1/p')
    peer=$(awk -v a="$peer" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
  done
  peer=$(awk -v p="$peer" -v s="$psize" -v h="$ph" -v w="$pw" 'BEGIN { printf "%.4f", p * s * s / (h * w) }')
  peer_mp=$(awk -v p="$peer" -v h="$h" -v w="$w" 'BEGIN { printf "%.2f", p * h * w / 1e6 }')
  for ranks in 1 2; do
    per=$((threads / ranks)); ((per > 0)) || per=1
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$t/time.txt" mpiexec -n "$ranks" --bind-to none "$build/src/apps/nucseg_infer" \
      --log-level info --set infer.model="$t/model.pt" --set infer.input="$t/in-$h" \
      --set infer.output="$t/out-$h-$ranks" --set infer.threads="$per" --set infer.precision="$precision" \
      --set infer.overwrite=true >"$t/log.txt" 2>&1
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
    ips=$(awk -v c="$count" -v s="$secs" 'BEGIN { printf "%.3f", c / s }')
    mps=$(awk -v c="$count" -v s="$secs" -v h="$h" -v w="$w" 'BEGIN { printf "%.2f", c * h * w / 1e6 / s }')
    steady=$(sed -n 's/.*images (100.0%), \([0-9.]*\) images\/s.*/\1/p' "$t/log.txt" | tail -1)
    printf '%-10s %5s %10s %10s %10s %12s %10s %7s %7s\n' "${h}x${w}" "$ranks" "$ips" "$mps" "$steady" "$peer" "$peer_mp" \
      "$(ratio "$ips" "$peer")" "$(ratio "$steady" "$peer")"
    if ((count == 1 && ranks == 1)); then
      # mpiexec's own RSS is small; /usr/bin/time -v reports the largest child (the rank).
      echo "  peak RSS ${h}x${w}, 1 rank: $(awk '/Maximum resident/ { printf "%.0f MiB", $6 / 1024 }' "$t/time.txt")"
    fi
  done
done
