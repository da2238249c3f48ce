#!/bin/bash
# End to end: nucseg_synth data -> a real (untrained, fixed-seed) checkpoint -> nucseg_infer on
# 2 MPI ranks -> segmentation.h5 checked with h5py and tools/summarize_segmentation.py ->
# resume (everything skipped) -> a corrupt image (exit 3, /failures) -> empty input, a 4-class
# network, predicted seeds without a distance head (exit 2)
# -> nucseg_eval checked against tools/kaggle_score_reference.py and a truth-as-prediction file;
# infer.export_rle's submission.csv read back as truth.
# Args: BIN_DIR (nucseg_synth/infer/eval) MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -euo pipefail
bin=$1 make_ckpt=$2 mpiexec=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-e2e-infer.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {  # expected command...
  local want=$1; shift
  set +e; "$@" >"$t/last.log" 2>&1; local rc=$?; set -e
  if [[ $rc != "$want" ]]; then cat "$t/last.log" >&2; fail "exit $rc, expected $want: $*"; fi
}
infer() { "$mpiexec" -n 2 "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 --set infer.batch=2 \
  --set infer.threads=1 --set infer.min_area=4 "$@"; }

"$bin/nucseg_synth" --set synth.output="$t/data" --set synth.count=3 --set synth.seed=5 \
  --set synth.min_side=96 --set synth.max_side=128 >/dev/null
"$make_ckpt" "$t/run/checkpoints/best.pt"

# 1. a run directory as infer.model, 2 ranks, tiles smaller than the images
expect_rc 0 infer --model "$t/run" --input "$t/data" --output "$t/out"
$py - "$t/out/segmentation.h5" "$t/data" <<'PY'
import sys, os, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
ids = sorted(d for d in os.listdir(sys.argv[2]) if not d.startswith("."))
got = [x.decode() if isinstance(x, bytes) else x for x in f["index/image_id"][:]]
assert got == ids, (got, ids)  # Kaggle inputs keep the plain Kaggle id
for a in ("tool_version", "checkpoint", "checkpoint_hash", "config", "input_root", "date"):
    assert a in f.attrs and len(str(f.attrs[a])) > 0, a
assert "fold_batchnorm" in str(f.attrs["config"])
assert "[model]" in str(f.attrs["training_config"]), "the checkpoint's training config is missing"
n = 0
for i in ids:
    g = f["images"][i]
    lab, cls = g["labels"][:], g["class_map"][:]
    assert lab.dtype in (np.uint16, np.uint32) and lab.shape == cls.shape and cls.max() <= 2
    present = [v for v in np.unique(lab) if v != 0]
    rows = [x.decode() if isinstance(x, bytes) else x for x in f["objects/image_id"][:]].count(i)
    assert rows == len(present) == int(g.attrs["n_objects"]), (i, rows, len(present))
    assert present == list(range(1, rows + 1)), (i, "labels are not 1..N", present[:10])
    n += rows
assert len(f["objects/label"]) == n
assert len(f["failures/path"]) == 0
print("segmentation.h5 ok:", len(ids), "images", n, "objects")
PY
$py "$src/tools/summarize_segmentation.py" "$t/out/segmentation.h5" --out "$t/summary" >/dev/null
ls "$t/summary"/*.png >/dev/null || fail "summary PNGs missing"

# 2. rerun: every image is skipped, results untouched (infer.export_rle changes no result)
stamp=$(stat -c %Y:%s "$t/out/images/"*.h5 | sort | md5sum)
sleep 1
expect_rc 0 infer --model "$t/run/checkpoints/best.pt" --input "$t/data" --output "$t/out" --set infer.export_rle=true
[[ $(stat -c %Y:%s "$t/out/images/"*.h5 | sort | md5sum) == "$stamp" ]] || fail "rerun rewrote results"
# its submission.csv, read back by nucseg_eval as run-length truth, is the prediction exactly
expect_rc 0 "$bin/nucseg_eval" --truth "$t/out/submission.csv" --pred "$t/out/segmentation.h5" --output "$t/eval_rle.json"
$py - "$t/eval_rle.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["images"] == 3 and r["score"] == 1.0 and not r["missing"] and not r["ignored"], r
print("submission.csv read back as truth: score", r["score"])
PY

# 3. a corrupt image is recorded and the run goes on: exit 3
cp -r "$t/data" "$t/data2"
mkdir -p "$t/data2/broken/images"
head -c 300 /dev/urandom >"$t/data2/broken/images/broken.png"
expect_rc 3 infer --model "$t/run" --input "$t/data2" --output "$t/out2"
$py - "$t/out2/segmentation.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
paths = [p.decode() if isinstance(p, bytes) else p for p in f["failures/path"][:]]
assert len(paths) == 1 and paths[0].endswith("broken.png"), paths
assert len(f["index/image_id"]) == 3
PY

# 4. empty input: exit 2
mkdir -p "$t/empty"
expect_rc 2 infer --model "$t/run" --input "$t/empty" --output "$t/out3"
# ... as are a network of 4 classes (the segment step needs 3) and predicted seeds without a
# distance head, each naming its key and the checkpoint, before any image
"$make_ckpt" "$t/four.pt" 4
expect_rc 2 infer --model "$t/four.pt" --input "$t/data" --output "$t/out4"
grep -q "model.classes" "$t/last.log" || fail "4 classes: model.classes not named"
grep -q "four.pt" "$t/last.log" || fail "4 classes: the checkpoint not named"
expect_rc 2 infer --model "$t/run" --input "$t/data" --output "$t/out4" --set segment.seeds=predicted
grep -q "segment.seeds" "$t/last.log" || fail "predicted seeds: segment.seeds not named"
[[ ! -e "$t/out4/segmentation.h5" ]] || fail "a refused run wrote results"

# 5. eval of the network result == the independent reference
expect_rc 0 "$bin/nucseg_eval" --truth "$t/data" --pred "$t/out/segmentation.h5" --output "$t/eval.json"
$py - "$t/data" "$t/out/segmentation.h5" "$t/pairs" "$t/truth_pred.h5" <<'PY'
import sys, os, cv2, h5py, numpy as np
data, seg, pairs, fake = sys.argv[1:]
os.makedirs(pairs)
f = h5py.File(seg, "r")
ids = sorted(d for d in os.listdir(data) if not d.startswith("."))
truths = {}
for i in ids:
    masks = sorted(os.listdir(f"{data}/{i}/masks"))
    img = cv2.imread(f"{data}/{i}/images/{i}.png", cv2.IMREAD_UNCHANGED)
    lab = np.zeros(img.shape[:2], np.int32); k = 0
    for m in masks:
        a = cv2.imread(f"{data}/{i}/masks/{m}", cv2.IMREAD_UNCHANGED)
        on = (a.any(axis=2) if a.ndim == 3 else a > 0) & (lab == 0)
        if (a > 0).any(): k += 1; lab[on] = k
    truths[i] = lab
    np.save(f"{pairs}/{i}.truth.npy", lab)
    np.save(f"{pairs}/{i}.pred.npy", f["images"][i]["labels"][:].astype(np.int64))
# truth as prediction, the last image left out, plus an id without truth
with h5py.File(fake, "w") as g:
    keep = ids[:-1] + ["ghost"]
    g.create_dataset("index/image_id", data=np.array(keep, dtype=h5py.string_dtype()))
    for i in ids[:-1]:
        g.create_dataset(f"images/{i}/labels", data=truths[i].astype(np.uint16))
    g.create_dataset("images/ghost/labels", data=np.ones((8, 8), np.uint16))
PY
ref=$($py "$src/tools/kaggle_score_reference.py" "$t/pairs" | awk '{s += $2; n++} END {printf "%.12f %d", s / n, n}')
$py - "$t/eval.json" $ref <<'PY'
import sys, json
r = json.load(open(sys.argv[1]))
ref, n = float(sys.argv[2]), int(sys.argv[3])
assert r["images"] == n == 3, r["images"]
assert abs(r["score"] - ref) < 1e-9, (r["score"], ref)
assert abs(r["report"]["dataset"]["score"] - ref) < 1e-9
print("eval score", r["score"], "== reference", ref)
PY

# 6. truth as prediction: perfect on 2 images, the missing one scores 0, "ghost" is ignored
expect_rc 0 "$bin/nucseg_eval" --truth "$t/data" --pred "$t/truth_pred.h5"
$py - "$t/eval.json" <<'PY'
import sys, json
r = json.load(open(sys.argv[1]))
assert r["images"] == 3 and abs(r["score"] - 2.0 / 3.0) < 1e-12, r["score"]
assert len(r["missing"]) == 1 and r["ignored"] == ["ghost"], (r["missing"], r["ignored"])
per = {im["id"]: im["score"] for im in r["report"]["images"]}
assert sorted(per.values()) == [0.0, 1.0, 1.0], per
PY
echo "e2e infer ok"
