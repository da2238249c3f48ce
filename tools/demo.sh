#!/usr/bin/env bash
# The whole nucseg pipeline on generated demo data, end to end, on this machine:
#   install what is missing -> build -> nucseg_synth (training set, and a held-out set made
#   with another seed) -> nucseg_pack -> nucseg_train on 2 MPI ranks (short budget)
#   -> nucseg_infer on 2 ranks over the held-out set -> nucseg_eval (Kaggle DSB 2018 score)
#   and the classical threshold + watershed baseline on the same images, for comparison
#   -> the same on a cross-distribution check: 16 images of tools/crosscheck/gen_c.py, a
#   generator written apart from nucseg's (docs/crosscheck.md), network and classical per style.
# Usage: tools/demo.sh [--quick]
#   --quick          a much shorter training (a smoke run; the score will be low)
#   NUCSEG_DEMO_DIR  output folder (default: demo)
#   NUCSEG_RANKS     MPI ranks for train and infer (default: 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

demo=${NUCSEG_DEMO_DIR:-demo}
ranks=${NUCSEG_RANKS:-2}
build_dir=${NUCSEG_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Transparent huge pages for malloc's heap (docs/hpc.md, "Memory"): glibc reads this only when
# a process starts, so it is set here for every rank.
case ":${GLIBC_TUNABLES:-}:" in
  *:glibc.malloc.hugetlb=*) ;;
  *) export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1" ;;
esac

step() { printf '\n=== %s\n' "$*"; }

step "1/8 dependencies"
tools/install_deps.sh

step "2/8 build"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --target nucseg_synth nucseg_pack nucseg_train nucseg_infer nucseg_eval
bin="$build_dir/src/apps"
mpirun=(mpirun -np "$ranks" --bind-to none)

step "3/8 generate demo data (training set seed 1, held-out set seed 2)"
"${mpirun[@]}" "$bin/nucseg_synth" --config configs/demo.toml --set synth.output="$demo/data/train" --set synth.seed=1
# The held-out images keep the generator's own crowding (cluster_fraction 0.5, not the training
# set's 0.25), so its scores compare with earlier runs and are not made easier by the recipe.
"${mpirun[@]}" "$bin/nucseg_synth" --config configs/demo.toml --set synth.output="$demo/data/heldout" --set synth.seed=2 \
  --set synth.count=16 --set synth.cluster_fraction=0.5

step "4/8 pack into HDF5 shards"
"${mpirun[@]}" "$bin/nucseg_pack" --config configs/demo.toml --set pack.input="$demo/data/train" \
  --set pack.output="$demo/shards"

step "5/8 train on $ranks MPI ranks"
train_args=(--config configs/demo.toml --set data.shards="$demo/shards" --set train.output="$demo/run")
if ((quick)); then train_args+=(--set train.max_steps=20 --set train.epochs=1); fi
"${mpirun[@]}" "$bin/nucseg_train" "${train_args[@]}"

step "6/8 segment the held-out images on $ranks ranks"
"${mpirun[@]}" "$bin/nucseg_infer" --config configs/demo.toml --set infer.model="$demo/run" \
  --set infer.input="$demo/data/heldout" --set infer.output="$demo/infer" --set infer.overwrite=true

step "7/8 evaluate"
"$bin/nucseg_eval" --truth "$demo/data/heldout" --pred "$demo/infer/segmentation.h5" \
  --set eval.output="$demo/eval.json"
/usr/bin/python3 tools/classical_baseline.py "$demo/data/heldout" --json "$demo/classical.json"

/usr/bin/python3 - "$demo" <<'PY'
import json, sys
demo = sys.argv[1]
net = json.load(open(f"{demo}/eval.json"))
cls = json.load(open(f"{demo}/classical.json"))
print()
print(f"Kaggle DSB 2018 score on {net['images']} held-out images (seed 2):")
print(f"  nucseg network              {net['score']:.3f}")
print(f"  classical threshold+watershed {cls['score']:.3f}")
d = net['report']['dataset']; c = d['fn50_causes']
print(f"  network's true nuclei not found at IoU 0.5: {d['fn50']} of {d['n_true']} = {c['merged']} merged with a "
      f"neighbour, {c['split']} split, {c['missed']} missed, {c['outline']} outline off (docs/eval.md)")
PY

step "8/8 cross-distribution check: 16 images of another generator (tools/crosscheck/gen_c.py, seed 1)"
[[ -f "$demo/data/crosscheck/manifest.csv" ]] ||
  /usr/bin/python3 tools/crosscheck/gen_c.py "$demo/data/crosscheck" --n 16 --seed 1 --jobs "$ranks" >/dev/null
tools/crosscheck/score.sh --model "$demo/run" --config configs/demo.toml --build "$build_dir" --ranks "$ranks" \
  --out "$demo/crosscheck" --list \
  "$demo/data/crosscheck"
cat <<EOF2

Results:
  segmentation (HDF5)  $demo/infer/segmentation.h5
  evaluation (JSON)    $demo/eval.json
  training run         $demo/run  (metrics.csv, previews/, TensorBoard events: tensorboard --logdir $demo/run)
  previews             $demo/run/previews/
Open the results in Python:
  python3 -c "import h5py, pandas as pd; f = h5py.File('$demo/infer/segmentation.h5'); print(pd.DataFrame({k: f['objects'][k][:] for k in f['objects']}).describe())"
EOF2
