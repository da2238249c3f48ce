#!/usr/bin/python3
"""Draw nucleus instance outlines (one random colour per instance) over an image.

Usage: /usr/bin/python3 tools/overlay.py IMAGE SEGMENTATION [--id ID] --out PNG
           [--thickness 1] [--seed 0] [--side-by-side]

SEGMENTATION is one of
  - a segmentation.h5 written by nucseg_infer: labels from /images/<ID>/labels (--id may be
    left out when the file holds one image);
  - a per-image result images/<ID>.h5 (dataset `labels` at its root);
  - a label image (PNG or TIFF, 8/16/32-bit, 0 background, one value per instance);
  - a Kaggle masks/ folder (one binary PNG per nucleus).
IMAGE may be 8- or 16-bit, gray, RGB or RGBA; 16-bit images are stretched between their
0.5th and 99.8th percentiles for display. Example (skimage's real IHC image):
  nucseg_infer --set infer.input=/usr/lib/python3/dist-packages/skimage/data/ihc.png ...
  tools/overlay.py .../ihc.png seg/segmentation.h5 --id ihc --out ihc_overlay.png
"""
import argparse
import colorsys
import os
import sys

import cv2
import numpy as np
from skimage.segmentation import find_boundaries


def read_any(path):
    """8/16/32-bit image as (Y, X) or (Y, X, C) in R, G, B(, A) order; TIFF pages C, Y, X too."""
    if path.lower().endswith((".tif", ".tiff")):
        import tifffile
        img = tifffile.imread(path)
        if img.ndim == 3 and img.shape[0] <= 4 < img.shape[2]:
            img = np.moveaxis(img, 0, -1)  # pages (C, Y, X) -> (Y, X, C)
        return img
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        sys.exit("overlay: cannot read image " + path)
    if img.ndim == 3:  # OpenCV gives BGR(A)
        img = img[..., [2, 1, 0] + ([3] if img.shape[2] == 4 else [])]
    return img


def display_rgb(img):
    if img.ndim == 3 and img.shape[2] == 2:
        img = np.dstack([img, img[..., :1] * 0])
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    img = img[..., :3].astype(np.float32)
    if img.max() > 255:
        lo, hi = np.percentile(img, [0.5, 99.8])
        img = (img - lo) / max(hi - lo, 1e-6) * 255
    return np.clip(img, 0, 255).astype(np.uint8)


def read_labels(path, image_id):
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if not n.startswith("."))
        labels = None
        for k, name in enumerate(names, start=1):
            m = read_any(os.path.join(path, name))
            m = m.max(axis=2) if m.ndim == 3 else m
            labels = np.zeros(m.shape, np.int32) if labels is None else labels
            labels[m > 0] = k
        if labels is None:
            sys.exit("overlay: no masks in " + path)
        return labels
    if path.endswith((".h5", ".hdf5")):
        import h5py
        with h5py.File(path, "r") as f:
            if "labels" in f:
                return f["labels"][()].astype(np.int64)
            ids = [v.decode() if isinstance(v, bytes) else v for v in f["index/image_id"][()]]
            if image_id is None:
                if len(ids) != 1:
                    sys.exit("overlay: %s holds %d images; pick one with --id (%s%s)" % (
                        path, len(ids), ", ".join(ids[:10]), ", ..." if len(ids) > 10 else ""))
                image_id = ids[0]
            if image_id not in ids:
                sys.exit("overlay: no image '%s' in %s" % (image_id, path))
            return f["images"][image_id]["labels"][()].astype(np.int64)
    labels = read_any(path)
    if labels.ndim == 3:
        sys.exit("overlay: %s is not a single-channel label image" % path)
    return labels.astype(np.int64)


def colours(n, seed):
    rng = np.random.default_rng(seed)
    hsv = np.stack([rng.random(n + 1), rng.uniform(0.6, 1.0, n + 1), rng.uniform(0.8, 1.0, n + 1)], 1)
    return (np.array([colorsys.hsv_to_rgb(*c) for c in hsv]) * 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image")
    ap.add_argument("segmentation")
    ap.add_argument("--id", help="image id inside a segmentation.h5")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--thickness", type=int, default=1, help="outline width in pixels")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random colours")
    ap.add_argument("--side-by-side", action="store_true", help="put the plain image left of the overlay")
    a = ap.parse_args()
    rgb = display_rgb(read_any(a.image))
    labels = read_labels(a.segmentation, a.id)
    if labels.shape != rgb.shape[:2]:
        sys.exit("overlay: labels %s and image %s differ in size" % (labels.shape, rgb.shape[:2]))
    ids, inverse = np.unique(labels, return_inverse=True)
    compact = inverse.reshape(labels.shape)  # 0 stays background: ids[0] is 0 when present
    if ids.size and ids[0] != 0:
        compact = compact + 1
    edge = find_boundaries(compact, mode="inner") & (compact > 0)
    for _ in range(a.thickness - 1):
        grown = cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        edge = grown & (compact > 0)
    out = rgb.copy()
    out[edge] = colours(int(compact.max()), a.seed)[compact[edge]]
    if a.side_by_side:
        out = np.concatenate([rgb, np.full((rgb.shape[0], 4, 3), 255, np.uint8), out], axis=1)
    if not cv2.imwrite(a.out, out[..., ::-1]):
        sys.exit("overlay: cannot write " + a.out)
    print("overlay: %d instances -> %s" % (int((ids > 0).sum()), a.out))


if __name__ == "__main__":
    main()
