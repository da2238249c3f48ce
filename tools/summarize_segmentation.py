#!/usr/bin/python3
"""Summarise a nucseg_infer run and draw an overlay for one image.

    /usr/bin/python3 tools/summarize_segmentation.py OUTPUT/segmentation.h5 --out report/ [--image ID]

Writes report/objects_per_image.csv, report/size_histogram.png and report/overlay_<id>.png
(label outlines over the source image, or over the class map when the source is gone), and
prints one JSON line {"images": .., "objects": .., "failures": .., "overlay": ..} last.
"""
import argparse
import json
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def column(d):
    # String datasets are variable-length UTF-8: h5py 3 gives bytes unless read through .asstr().
    return d.asstr()[:] if h5py.check_string_dtype(d.dtype) else d[:]


def load_tables(f):
    return tuple(pd.DataFrame({k: column(d) for k, d in f[group].items()}) for group in ("objects", "index", "failures"))


def read_source(path, shape):
    try:
        import cv2
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    except ImportError:
        img = None
    if img is None or img.shape[:2] != tuple(shape):
        return None
    if img.ndim == 3:
        img = img[:, :, :3][:, :, ::-1]  # OpenCV reads BGR
    img = img.astype(np.float64)
    return (img - img.min()) / max(img.max() - img.min(), 1e-9)


def draw_overlay(f, index, image_id, path):
    from skimage.segmentation import find_boundaries
    group = f["images"][image_id]
    labels = group["labels"][:]
    row = index[index["image_id"] == image_id].iloc[0]
    background = read_source(row["source_path"], labels.shape)
    if background is None:
        background = group["class_map"][:] / 2.0
    if background.ndim == 2:
        background = np.stack([background] * 3, axis=-1)
    rgb = background.copy()
    rgb[find_boundaries(labels, mode="outer")] = (1.0, 0.9, 0.0)
    height, width = labels.shape
    fig = plt.figure(figsize=(max(2, width / 100), max(2, height / 100)), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    ax.text(4, 12, "%s: %d objects" % (image_id, len(np.unique(labels[labels > 0]))),
            color="white", fontsize=8)
    fig.savefig(path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("segmentation", help="segmentation.h5 written by nucseg_infer")
    parser.add_argument("--out", required=True, help="folder for the CSV and PNGs")
    parser.add_argument("--image", help="image id for the overlay (default: the one with most objects)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with h5py.File(args.segmentation, "r") as f:
        objects, index, failures = load_tables(f)
        per_image = index[["image_id", "height", "width", "n_objects"]].copy()
        per_image.to_csv(os.path.join(args.out, "objects_per_image.csv"), index=False)
        print("run: %s  model: %s  date: %s" % (f.attrs.get("input_root"), f.attrs.get("checkpoint"),
                                                f.attrs.get("date")))
        print(per_image.to_string(index=False))
        if len(objects):
            print(objects[["area", "equivalent_diameter", "eccentricity", "solidity"]].describe().to_string())
        for _, row in failures.iterrows():
            print("FAILED %s: %s" % (row["path"], row["reason"]))

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(objects["area"] if len(objects) else [], bins=40, color="tab:blue")
        ax.set_xlabel("object area (pixels)")
        ax.set_ylabel("objects")
        ax.set_title("%d objects in %d images" % (len(objects), len(index)))
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "size_histogram.png"))
        plt.close(fig)

        overlay = None
        if len(index):
            image_id = args.image or index.sort_values("n_objects", ascending=False)["image_id"].iloc[0]
            if image_id not in set(index["image_id"]):
                sys.exit("no image %r in %s" % (image_id, args.segmentation))
            overlay = os.path.join(args.out, "overlay_%s.png" % image_id)
            draw_overlay(f, index, image_id, overlay)

    print(json.dumps({"images": int(len(index)), "objects": int(len(objects)),
                      "failures": int(len(failures)), "overlay": overlay}))


if __name__ == "__main__":
    main()
