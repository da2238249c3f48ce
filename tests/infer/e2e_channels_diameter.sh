#!/bin/bash
# End to end, issue 11's inputs: a flat dataset of 12-bit, 3-channel TIFFs (nuclei in channel 1,
# decoy blobs in channel 0, noise in channel 2) with 16-bit label-image masks -> nucseg_pack ->
# a few nucseg_train steps -> nucseg_infer with infer.channels = [1] and infer.diameter, and
# with infer.diameter = "auto" -> labels at each input's size, uint16
# or uint32, numbered 1..N; the per-channel columns; the recorded scale, channels and
# normalisation.
# Args: BIN_DIR (nucseg_pack/train/infer) MAKE_CHECKPOINT SOURCE_DIR
set -euo pipefail
bin=$1 make_ckpt=$2 src=$3
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-e2e-channels.XXXXXX")
trap 'rm -rf "$t"' EXIT

$py - "$t/data" <<'PY'
import os, sys
import numpy as np
root = sys.argv[1]
try:
    import tifffile
    def write(path, a):
        tifffile.imwrite(path, a, photometric="rgb" if a.ndim == 3 else "minisblack")
except ImportError:  # OpenCV writes colour as BGR: hand it the channels reversed to keep source order
    import cv2
    def write(path, a):
        assert cv2.imwrite(path, a[..., ::-1] if a.ndim == 3 else a)
rng = np.random.default_rng(3)
for d in ("images", "masks"):
    os.makedirs(os.path.join(root, d))
for i, (h, w) in enumerate([(96, 128), (128, 96), (112, 112), (96, 96)]):
    yy, xx = np.mgrid[:h, :w]
    labels = np.zeros((h, w), np.uint16)
    img = np.zeros((h, w, 3), np.uint16)
    img[..., 2] = rng.integers(0, 4096, (h, w))           # noise over the whole 12-bit range
    img[..., 0] = 200
    n = 0
    for _ in range(40):
        r = rng.uniform(5.0, 7.0)                          # diameter ~12 px
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if (labels[disk] > 0).any() or (labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= (r + 2) ** 2] > 0).any():
            continue
        n += 1
        labels[disk] = n
    img[..., 1] = np.where(labels > 0, rng.integers(2500, 4096, (h, w)), rng.integers(100, 400, (h, w)))
    for _ in range(3):                                     # decoys only channel 0 shows
        cy, cx = rng.uniform(10, h - 10), rng.uniform(10, w - 10)
        img[..., 0][(yy - cy) ** 2 + (xx - cx) ** 2 <= 64] = 4000
    write(os.path.join(root, "images", "cell%d.tif" % i), img)
    write(os.path.join(root, "masks", "cell%d.tif" % i), labels)
print("dataset:", len(os.listdir(os.path.join(root, "images"))), "images")
PY

"$bin/nucseg_pack" --log-level warn --set pack.input="$t/data" --set pack.output="$t/shards" \
  --set pack.layout=flat --set pack.mask_kind=labels --set pack.val_fraction=0.25 --set data.channels=[1]
"$bin/nucseg_train" --log-level warn --set data.shards="$t/shards" --set data.crop=64 --set data.channels=[1] \
  --set train.output="$t/run" --set train.max_steps=3 --set train.batch_size=2 --set train.threads=2 \
  --set train.preview_count=0
ckpt=$(ls "$t/run/checkpoints/"ckpt-step-*.pt | tail -n 1)
# The training set's median nucleus diameter, as the trainer records it (this helper sets it
# here so the test does not depend on the trainer's own record).
"$make_ckpt" --set-diameter "$ckpt" 16 "$t/model.pt"

# segment.min_confidence=0: a network of a few steps is unsure of every object, and this test is
# about channels and scale, not about which objects are kept.
infer() { "$bin/nucseg_infer" --log-level warn --set infer.model="$t/model.pt" --set infer.input="$t/data/images" \
  --set infer.tile=128 --set infer.overlap=32 --set infer.threads=2 --set infer.channels=[1] \
  --set segment.min_confidence=0 "$@"; }
infer --set infer.output="$t/out" --set infer.diameter=12
infer --set infer.output="$t/auto" --set infer.diameter=auto

$py - "$t/data/images" "$t/out/segmentation.h5" "$t/auto/segmentation.h5" <<'PY'
import os, sys
import h5py, numpy as np
images, fixed, auto = sys.argv[1:]
ids = sorted(os.path.splitext(n)[0] for n in os.listdir(images))
for path, scale in ((fixed, 16 / 12), (auto, None)):
    f = h5py.File(path, "r")
    assert f.attrs["channels"] == "[1]", f.attrs["channels"]
    assert str(f.attrs["normalize"]).startswith("percentile"), f.attrs["normalize"]  # the checkpoint's
    got = [x.decode() if isinstance(x, bytes) else x for x in f["index/image_id"][:]]
    assert got == ids, (got, ids)
    assert len(f["failures/path"]) == 0
    scales = f["index/scale"][:]
    if scale is not None:
        assert np.allclose(scales, scale), scales
    assert (f["index/effective_bit_depth"][:] == 12).all(), f["index/effective_bit_depth"][:]
    total = 0
    for i in ids:
        g = f["images"][i]
        lab = g["labels"][:]
        h, w = (int(g.attrs["height"]), int(g.attrs["width"]))
        shape = {"cell0": (96, 128), "cell1": (128, 96), "cell2": (112, 112), "cell3": (96, 96)}[i]
        assert lab.shape == shape == (h, w), (i, lab.shape, shape)
        assert lab.dtype in (np.uint16, np.uint32), lab.dtype
        present = [int(v) for v in np.unique(lab) if v != 0]
        assert present == list(range(1, len(present) + 1)), (i, "labels are not 1..N", present[:10])
        assert int(g.attrs["n_objects"]) == len(present)
        total += len(present)
    assert len(f["objects/label"]) == total
    for k in range(3):
        for c in ("mean_intensity_c%d" % k, "integrated_intensity_c%d" % k):
            assert c in f["objects"] and len(f["objects"][c]) == total, c
    if total:
        m, s, a = f["objects/mean_intensity_c1"][:], f["objects/integrated_intensity_c1"][:], f["objects/area"][:]
        assert np.allclose(m * a, s) and (m >= 100).all() and (m <= 4095).all(), (m[:5], s[:5])
    print(os.path.basename(os.path.dirname(path)), ": ", total, " objects, scales ", np.round(scales, 3), sep="")
PY
echo "e2e channels/diameter ok"
