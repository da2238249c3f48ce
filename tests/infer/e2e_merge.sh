#!/bin/bash
# An infer job array merged into one segmentation.h5: jobs/infer.sbatch run as array tasks 0 and
# 1 (outside Slurm: the array variables set by hand), tools/merge_shares.py, then the merged
# file against a single run over every image (same images, labels and objects; nucseg_eval
# reads it). Shares of two models, or a share stopped early, are refused.
# Args: BIN_DIR MAKE_CHECKPOINT SOURCE_DIR
set -euo pipefail
bin=$1 make_ckpt=$2 src=$3
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-e2e-merge.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin/nucseg_synth" --set synth.output="$t/data" --set synth.count=5 --set synth.seed=3 \
  --set synth.min_side=80 --set synth.max_side=112 >/dev/null
"$make_ckpt" "$t/ck1.pt"
"$make_ckpt" "$t/ck2.pt" 3 1
conf() {  # model output
  printf '[infer]\nmodel = "%s"\ninput = "%s"\noutput = "%s"\ntile = 64\noverlap = 16\nthreads = 1\n' \
    "$1" "$t/data" "$2" >"$t/run.toml"
}
share() {  # i model
  conf "$2" "$t/out"
  SLURM_ARRAY_TASK_ID=$1 SLURM_ARRAY_TASK_MAX=1 NUCSEG_BIN="$bin" NUCSEG_LAUNCHER=mpirun NUCSEG_LAUNCH_ARGS="-n 1" \
    bash "$src/jobs/infer.sbatch" "$t/run.toml" >"$t/share$1.log" 2>&1 || { cat "$t/share$1.log"; fail "share $1"; }
}
share 0 "$t/ck1.pt"
share 1 "$t/ck1.pt"
conf "$t/ck1.pt" "$t/all"
"$bin/nucseg_infer" --config "$t/run.toml" >"$t/all.log" 2>&1 || { cat "$t/all.log"; fail "single run"; }
$py "$src/tools/merge_shares.py" "$t/out" || fail "merge"
$py - "$t/out/segmentation.h5" "$t/all/segmentation.h5" <<'PY'
import sys, h5py, numpy as np, pandas as pd
m, a = (h5py.File(p, "r") for p in sys.argv[1:])
ids = lambda f: [x.decode() for x in f["index/image_id"][:]]
assert sorted(ids(m)) == sorted(ids(a)) and len(ids(m)) == 5, (ids(m), ids(a))
assert m.attrs["checkpoint_hash"] == a.attrs["checkpoint_hash"] and m.attrs["shares"] == 2
for i in ids(a):
    for k in ("labels", "class_map"):
        assert np.array_equal(m["images"][i][k][:], a["images"][i][k][:]), (i, k)
table = lambda f: pd.DataFrame({k: f["objects"][k][:] for k in f["objects"]}).sort_values(["image_id", "label"]).reset_index(drop=True)
pd.testing.assert_frame_equal(table(m), table(a))
assert m.attrs["n_objects"] == a.attrs["n_objects"] and m.attrs["n_inputs"] == 5
import os
for name, keys in (("objects.csv", ["image_id", "label"]), ("images.csv", ["image_id"])):
    csv = lambda f: pd.read_csv(os.path.join(os.path.dirname(f.filename), name), dtype=str,
                                keep_default_na=False).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(csv(m), csv(a))  # the merged CSVs hold the single run's rows
print("merged == single run:", len(ids(a)), "images,", int(a.attrs["n_objects"]), "objects")
PY
"$bin/nucseg_eval" --truth "$t/data" --pred "$t/out/segmentation.h5" --output "$t/eval.json" >/dev/null 2>&1 ||
  fail "nucseg_eval cannot read the merged file"

# Share 1 redone with another model: the merge refuses (exit 2) and leaves the old file.
before=$(md5sum <"$t/out/segmentation.h5")
share 1 "$t/ck2.pt"
set +e; $py "$src/tools/merge_shares.py" "$t/out" 2>"$t/refused.log"; rc=$?; set -e
[[ $rc == 2 ]] || fail "merge of two models: exit $rc, expected 2"
grep -q "another checkpoint_hash" "$t/refused.log" || fail "refusal does not say why: $(cat "$t/refused.log")"
[[ $(md5sum <"$t/out/segmentation.h5") == "$before" ]] || fail "the refused merge changed segmentation.h5"
# A share without its segmentation.h5 (stopped before assembling): refused.
rm "$t/out/share-1/segmentation.h5"
set +e; $py "$src/tools/merge_shares.py" "$t/out" 2>"$t/refused.log"; rc=$?; set -e
[[ $rc == 2 ]] && grep -q "has not finished" "$t/refused.log" || fail "an unfinished share was merged (rc $rc)"
echo "e2e merge ok"
