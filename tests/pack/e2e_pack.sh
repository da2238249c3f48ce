#!/bin/bash
# End to end: generated Kaggle folder -> nucseg_pack with 1 and 2 ranks -> tools/read_shard.py;
# the two packings must hold byte-identical images, labels and splits per id.
# usage: e2e_pack.sh <nucseg_pack> <mpiexec> <source dir>
set -euo pipefail
pack=$1 mpiexec=$2 src=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/nucseg_pack_e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$src/tests/pack/make_kaggle.py" "$work/in" --count 7 --min-side 64 --max-side 96 --seed 5
: > "$work/in/bench0003/masks/0000.png"  # a zero-byte mask: rejected, named in the index

common=(--set pack.input="$work/in" --set pack.shard_max_images=3 --set pack.max_rejected_fraction=0.2 --log-level warn)
"$pack" "${common[@]}" --set pack.output="$work/one"
"$mpiexec" -n 2 --oversubscribe --bind-to none "$pack" "${common[@]}" --set pack.output="$work/two"

/usr/bin/python3 "$src/tools/read_shard.py" "$work/one" bench0001 --png "$work/b1.png" | tee "$work/read.txt"
grep -q "image: shape (" "$work/read.txt"
grep -q "labels: shape (" "$work/read.txt"
test -s "$work/b1.png"
if /usr/bin/python3 "$src/tools/read_shard.py" "$work/one" no-such-id; then echo "unknown id accepted"; exit 1; fi

/usr/bin/python3 - "$work/one" "$work/two" "$src" <<'PY'
import os
import sys
sys.path.insert(0, os.path.join(sys.argv[3], "tools"))
import h5py
import numpy as np
from read_shard import load

one, two = sys.argv[1], sys.argv[2]
def ids(d):
    with h5py.File(d + "/index.h5", "r") as f:
        assert f["rejected/path"].shape == (1,), "one rejected input expected"
        assert b"0000.png" in f["rejected/path"][0] or "0000.png" in str(f["rejected/path"][0])
        return [v.decode() if isinstance(v, bytes) else v for v in f["entries/id"][:]]
assert ids(one) == ids(two) and len(ids(one)) == 6, (ids(one), ids(two))
for image_id in ids(one):
    e1, _, i1, l1, c1 = load(one, image_id)
    e2, _, i2, l2, c2 = load(two, image_id)
    assert i1.dtype == i2.dtype and i1.tobytes() == i2.tobytes(), image_id
    assert l1.dtype == l2.dtype and l1.tobytes() == l2.tobytes(), image_id
    assert c1.tobytes() == c2.tobytes(), image_id
    assert e1["split"] == e2["split"], image_id
    assert l1.max() > 0 and set(np.unique(c1)) <= {0, 1, 2}, image_id
print("1-rank and 2-rank packings identical for", len(ids(one)), "ids")
PY

# Bad runs: a missing input root exits 2, too many rejections exit 3.
set +e
"$pack" --set pack.input="$work/nowhere" --set pack.output="$work/x" --log-level off; rc=$?
[ $rc -eq 2 ] || { echo "missing root: exit $rc, expected 2"; exit 1; }
"$pack" "${common[@]}" --set pack.output="$work/three" --set pack.max_rejected_fraction=0.1 --log-level off; rc=$?
[ $rc -eq 3 ] || { echo "too many rejected: exit $rc, expected 3"; exit 1; }
echo "e2e pack: ok"
