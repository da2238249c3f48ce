#!/usr/bin/python3
"""Checks the outputs of the Slurm pipeline test (tests/slurm/slurm_pipeline_test.sh).

    check_pipeline.py segmentation OUT/segmentation.h5 HELDOUT_DIR
        segmentation.h5 covers exactly the images of HELDOUT_DIR (a Kaggle-layout folder),
        with no failures; every image has labels and a class map of the source's size;
        the objects table has every column at one length and agrees with the label images
        (labels 1..N per image, areas, bounding boxes, centroids) and with the index. The
        object count itself is not checked: a 16-step model may find none.
    check_pipeline.py shares OUT HELDOUT_DIR N
        an infer job array of N tasks split HELDOUT_DIR into disjoint shares that cover it:
        OUT/share-<i>/inputs.txt lists share i, OUT/share-<i>/segmentation.h5 holds exactly
        those images (checked as above), and nothing else was written in OUT.
    check_pipeline.py training RUN_DIR PLANNED STOP_STEP
        a run stopped at STOP_STEP and resumed ended at exactly PLANNED steps: its newest
        checkpoint is ckpt-step-PLANNED, the stop's checkpoint exists, and metrics.csv has one
        row per epoch (no epoch repeated by the resume) with the last at step PLANNED.

Prints one line per check group; exits 1 with the reason on the first failed check.
"""
import csv
import os
import re
import sys

import cv2
import h5py
import numpy as np

OBJECT_INT_COLUMNS = ["label", "bbox_min_row", "bbox_min_col", "bbox_max_row", "bbox_max_col"]
OBJECT_FLOAT_COLUMNS = ["area", "centroid_row", "centroid_col", "equivalent_diameter", "major_axis_length",
                        "minor_axis_length", "eccentricity", "orientation", "solidity", "perimeter",
                        "mean_intensity", "min_intensity", "max_intensity"]


def fail(message):
    print("check_pipeline: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def text(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def attr(f, name):
    value = f.attrs[name]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def check_image(group, image_id, height, width, rows):
    """One image's label/class maps against its rows of the objects table."""
    expect("labels" in group and "class_map" in group, f"{image_id}: labels or class_map missing")
    labels = group["labels"][:]
    class_map = group["class_map"][:]
    expect(labels.shape == (height, width), f"{image_id}: labels {labels.shape}, index says {(height, width)}")
    expect(class_map.shape == labels.shape, f"{image_id}: class_map {class_map.shape} != labels {labels.shape}")
    expect(labels.dtype in (np.uint16, np.uint32), f"{image_id}: labels dtype {labels.dtype}")
    expect(class_map.dtype == np.uint8 and int(class_map.max(initial=0)) <= 2,
           f"{image_id}: class_map must be uint8 in 0..2")
    n = len(rows["label"])
    present = np.unique(labels[labels > 0])
    expect(present.tolist() == list(range(1, n + 1)),
           f"{image_id}: labels {present.tolist()[:10]}... are not 1..{n} (its rows in /objects)")
    expect(sorted(rows["label"].tolist()) == list(range(1, n + 1)), f"{image_id}: object labels are not 1..{n}")
    for k in range(n):
        label = int(rows["label"][k])
        rr, cc = np.nonzero(labels == label)
        expect(int(rows["area"][k]) == rr.size, f"{image_id} object {label}: area {rows['area'][k]} != {rr.size} pixels")
        box = (rr.min(), cc.min(), rr.max() + 1, cc.max() + 1)
        got = tuple(int(rows[c][k]) for c in ["bbox_min_row", "bbox_min_col", "bbox_max_row", "bbox_max_col"])
        expect(got == box, f"{image_id} object {label}: bbox {got}, pixels span {box}")
        expect(abs(rows["centroid_row"][k] - rr.mean()) < 1e-3 and abs(rows["centroid_col"][k] - cc.mean()) < 1e-3,
               f"{image_id} object {label}: centroid off")
        expect(group["objects"]["label"].shape[0] == n, f"{image_id}: its own objects table has another length")


def kaggle_ids(folder):
    ids = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d, "images")))
    expect(ids, f"no Kaggle-layout images under {folder}")
    return ids


def check_segmentation(path, heldout, expected=None):
    expected = sorted(expected) if expected is not None else kaggle_ids(heldout)
    with h5py.File(path, "r") as f:
        expect(attr(f, "format") == "nucseg-segmentation-1", f"format attribute {attr(f, 'format')!r}")
        for group in ("images", "index", "objects", "failures"):
            expect(group in f, f"/{group} missing")
        failures = text(f["failures"]["image_id"][:]) if "image_id" in f["failures"] else []
        expect(int(attr(f, "n_failures")) == 0 and not failures, f"failures: {failures}")
        index = {k: f["index"][k][:] for k in f["index"]}
        ids = text(index["image_id"])
        expect(sorted(ids) == expected, f"index ids {sorted(ids)} != held-out ids {expected}")
        expect(int(attr(f, "n_images")) == len(expected), f"n_images {attr(f, 'n_images')} != {len(expected)}")
        expect(sorted(f["images"].keys()) == expected, "/images does not hold one entry per held-out image")

        columns = OBJECT_INT_COLUMNS + OBJECT_FLOAT_COLUMNS + ["image_id"]
        missing = [c for c in columns if c not in f["objects"]]
        expect(not missing, f"/objects lacks {missing}")
        objects = {k: f["objects"][k][:] for k in f["objects"]}
        lengths = {k: len(v) for k, v in objects.items()}
        n_objects = int(attr(f, "n_objects"))
        expect(set(lengths.values()) == {n_objects}, f"/objects column lengths {lengths}, n_objects {n_objects}")
        expect(int(np.sum(index["n_objects"])) == n_objects, "index n_objects do not add up to n_objects")
        object_ids = np.array(text(objects["image_id"]))

        for row, image_id in enumerate(ids):
            height, width = int(index["height"][row]), int(index["width"][row])
            source = cv2.imread(text(index["source_path"])[row], cv2.IMREAD_UNCHANGED)
            expect(source is not None and source.shape[:2] == (height, width),
                   f"{image_id}: source image missing or not {height}x{width}")
            mine = object_ids == image_id
            expect(int(mine.sum()) == int(index["n_objects"][row]),
                   f"{image_id}: {int(mine.sum())} rows in /objects, index says {index['n_objects'][row]}")
            check_image(f["images"][image_id], image_id, height, width, {k: v[mine] for k, v in objects.items()})
    print(f"segmentation ok: {len(expected)} images, {n_objects} objects, columns consistent with the label images")


def check_shares(out, heldout, shares):
    expected = kaggle_ids(heldout)
    names = sorted(os.listdir(out))
    expect(names == [f"share-{i}" for i in range(shares)], f"{out} holds {names}, not share-0..{shares - 1}")
    seen = []
    for i in range(shares):
        share = os.path.join(out, f"share-{i}")
        with open(os.path.join(share, "inputs.txt")) as handle:
            paths = [line.strip() for line in handle if line.strip()]
        ids = [os.path.basename(os.path.dirname(os.path.dirname(p))) for p in paths]
        expect(ids, f"share {i} is empty")
        check_segmentation(os.path.join(share, "segmentation.h5"), heldout, ids)
        seen += ids
    expect(sorted(seen) == expected and len(set(seen)) == len(seen),
           f"the shares {seen} do not split the held-out images {expected} disjointly")
    print(f"shares ok: {shares} array tasks, disjoint, covering {len(expected)} images")


def check_training(run, planned, stop_step):
    expect(0 < stop_step < planned, f"the stop step {stop_step} is not inside the run (1..{planned - 1})")
    names = os.listdir(os.path.join(run, "checkpoints"))
    steps = sorted(int(m.group(1)) for m in (re.fullmatch(r"ckpt-step-(\d+)\.pt", n) for n in names) if m)
    expect(steps and steps[-1] == planned, f"newest checkpoint at step {steps[-1] if steps else None}, planned {planned}")
    expect(stop_step in steps, f"no checkpoint at the stop step {stop_step} (have {steps})")
    with open(os.path.join(run, "metrics.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    expect(rows, "metrics.csv has no rows")
    epochs = [int(r["epoch"]) for r in rows]
    row_steps = [int(r["step"]) for r in rows]
    expect(epochs == list(range(1, len(rows) + 1)), f"metrics.csv epochs {epochs}: repeated or missing after the resume")
    expect(all(a < b for a, b in zip(row_steps, row_steps[1:])), f"metrics.csv steps {row_steps} not increasing")
    expect(row_steps[-1] == planned, f"metrics.csv ends at step {row_steps[-1]}, planned {planned}")
    for r in rows:
        expect(np.isfinite(float(r["train_loss"])) and np.isfinite(float(r["val_loss"])), f"non-finite loss in {r}")
    print(f"training ok: stopped at step {stop_step}, resumed, ended at {planned}; checkpoints {steps}; "
          f"{len(rows)} epoch rows")


def main(argv):
    if len(argv) == 4 and argv[1] == "segmentation":
        check_segmentation(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "shares":
        check_shares(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 5 and argv[1] == "training":
        check_training(argv[2], int(argv[3]), int(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
