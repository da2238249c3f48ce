#!/usr/bin/env bash
# Fault injection: kill -9 at random moments, N times per stage, and compare with runs that were
# never interrupted. For each stage (pack, train, infer, on 2 MPI ranks): one uninterrupted run,
# then N times: start the same run into a fresh output folder, SIGKILL it and every process it
# started (mpirun and every rank, at once) after a random delay within the uninterrupted
# run's duration, then rerun it to the end, and require
#   - no file under a final name that does not read back (HDF5 files opened and read whole),
#   - the rerun's exit code 0,
#   - results equal to the uninterrupted run's: pack: every image's pixels, labels and classes
#     and the split; train (train.deterministic): every metrics.csv value but the timings;
#     infer: every label image, class map and objects-table row.
# Not part of the default test suite (minutes); the tests of docs/reliability.md cover each
# fault once. Prints one line per kill and a summary; exits 1 when any comparison failed.
#
# Usage: tools/faults.sh [-n N] [-s STAGES] [-b BUILD_DIR] [-k]
#   -n N       kills per stage (default 5)
#   -s STAGES  comma-separated subset of pack,train,infer (default all three)
#   -b DIR     build folder holding src/apps/nucseg_* and tests/infer/make_checkpoint (default build)
#   -k         keep the scratch folder
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=5 stages="pack,train,infer" build="$root/build" keep=""
while getopts "n:s:b:kh" opt; do
  case $opt in
    n) n=$OPTARG ;;
    s) stages=$OPTARG ;;
    b) build=$(cd "$OPTARG" && pwd) ;;
    k) keep=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  esac
done
bin="$build/src/apps"
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-faults.XXXXXX")
[[ -n $keep ]] && echo "scratch: $t" || trap 'rm -rf "$t"' EXIT
failures=0

mpi() { mpirun -n 2 --bind-to none "$@"; }

# The process and all its descendants (mpirun puts its ranks in process groups of their own,
# so killing mpirun's group would leave them running).
tree() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1"); do tree "$p"; done
}
kill_tree() {
  local pids
  pids=$(tree "$1")
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  while kill -0 $pids 2>/dev/null; do sleep 0.05; done
}

# The commands of each stage; $1 is the output folder.
run_pack() { mpi "$bin/nucseg_pack" --set pack.input="$t/data" --set pack.output="$1" --set pack.shard_max_images=3; }
run_train() {
  mpi "$bin/nucseg_train" --set data.shards="$t/shards" --set train.output="$1" --set data.crop=64 \
    --set train.batch_size=2 --set train.epochs=3 --set train.deterministic=true --set train.threads=1 \
    --set train.checkpoint_every=2 --set train.seed=3 --set data.workers=1 --set train.preview_count=0
}
run_infer() {
  mpi "$bin/nucseg_infer" --set infer.model="$t/model.pt" --set infer.input="$t/data" --set infer.output="$1" \
    --set infer.tile=64 --set infer.overlap=16 --set infer.threads=1 --set infer.deterministic=true
}

# Every HDF5 file under a final name reads back whole.
check_whole() {
  $py - "$1" <<'PY'
import sys, os, h5py
bad = []
for d, _, files in os.walk(sys.argv[1]):
    for name in files:
        if not name.endswith(".h5"):
            continue
        try:
            with h5py.File(os.path.join(d, name), "r") as f:
                f.visititems(lambda k, o: o[()] if isinstance(o, h5py.Dataset) else None)
        except (OSError, KeyError) as e:
            bad.append(f"{name}: {e}")
if bad:
    sys.exit("corrupt under a final name: " + "; ".join(bad))
PY
}

compare() {  # stage reference result
  $py - "$@" <<'PY'
import sys, os, csv, h5py, numpy as np
stage, ref, got = sys.argv[1:]
def ids(f):
    return [x.decode() for x in f["index/image_id"][:]] if "index" in f else []
if stage == "pack":
    def load(d):
        out = {}
        with h5py.File(os.path.join(d, "index.h5"), "r") as index:
            files = [x.decode() for x in index["shards/file"][:]]
            e = index["entries"]
            for i, s, slot, split in zip(e["id"][:], e["shard"][:], e["slot"][:], e["split"][:]):
                with h5py.File(os.path.join(d, files[s]), "r") as f:
                    g = f["images/%06d" % slot]
                    out[i.decode()] = (split, g["image"][()], g["labels"][()].astype(np.int64), g["classes"][()])
        return out
    a, b = load(ref), load(got)
    assert a.keys() == b.keys(), "different images"
    for k in a:
        assert a[k][0] == b[k][0] and all(np.array_equal(x, y) for x, y in zip(a[k][1:], b[k][1:])), k
elif stage == "train":
    def rows(d):
        with open(os.path.join(d, "metrics.csv")) as f:
            r = list(csv.DictReader(f))
        return [{k: v for k, v in row.items() if k not in ("images_per_s", "wall_seconds")} for row in r]
    assert rows(ref) == rows(got), f"metrics differ: {rows(ref)} vs {rows(got)}"
    assert os.path.exists(os.path.join(got, "checkpoints", "best.pt")), "no best.pt"
else:
    a, b = (h5py.File(os.path.join(d, "segmentation.h5"), "r") for d in (ref, got))
    assert sorted(ids(a)) == sorted(ids(b)), "different images"
    for i in ids(a):
        for k in ("labels", "class_map"):
            assert np.array_equal(a["images"][i][k][:], b["images"][i][k][:]), (i, k)
    for k in a["objects"]:
        assert np.array_equal(a["objects"][k][:], b["objects"][k][:]), k
PY
}

echo "faults: data and model in $t"
"$bin/nucseg_synth" --set synth.output="$t/data" --set synth.count=12 --set synth.seed=21 \
  --set synth.min_side=96 --set synth.max_side=160 >/dev/null 2>&1
"$build/tests/infer/make_checkpoint" "$t/model.pt" 3 2 >/dev/null
run_pack "$t/shards" >/dev/null 2>&1

for stage in ${stages//,/ }; do
  start=$(date +%s.%N)
  "run_$stage" "$t/$stage-ref" >"$t/$stage-ref.log" 2>&1 || { echo "faults: the uninterrupted $stage run failed"; exit 1; }
  duration=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  echo "faults: $stage: uninterrupted run ${duration%.*} s"
  for ((k = 1; k <= n; k++)); do
    out="$t/$stage-$k"
    delay=$(awk -v d="$duration" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", rand() * d }')
    bash -c "$(declare -f mpi "run_$stage"); bin='$bin' t='$t' run_$stage '$out'" >"$out.killed.log" 2>&1 &
    job=$!
    sleep "$delay"
    kill_tree "$job"
    { wait "$job"; } 2>/dev/null || true  # (bash would report "Killed")
    verdict="ok"
    if ! check_whole "$out" 2>"$out.err"; then
      verdict="CORRUPT: $(tail -1 "$out.err")"
    elif ! "run_$stage" "$out" >"$out.rerun.log" 2>&1; then
      verdict="rerun failed: $(tail -1 "$out.rerun.log")"
    elif ! compare "$stage" "$t/$stage-ref" "$out" 2>"$out.err"; then
      verdict="DIFFERS: $(tail -1 "$out.err")"
    fi
    [[ $verdict == ok ]] || failures=$((failures + 1))
    echo "faults: $stage kill $k at ${delay} s: $verdict"
  done
done
echo "faults: $failures failure(s)"
((failures == 0))
