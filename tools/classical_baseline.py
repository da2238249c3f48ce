#!/usr/bin/python3
"""Classical nuclei segmentation baseline and the Kaggle DSB 2018 score.

Otsu threshold (polarity chosen per image) + distance transform + peak_local_max + watershed,
scored against the masks of a Kaggle stage1 layout folder (<root>/<id>/images/<id>.png,
<root>/<id>/masks/*.png). Used to calibrate nucseg_synth: a realistic, hard dataset scores
about 0.35-0.42 with this baseline.

Usage: /usr/bin/python3 tools/classical_baseline.py ROOT [--min-distance 5] [--csv out.csv] [--json out.json]
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import ndimage as ndi
from skimage import io
from skimage.color import rgb2gray
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects
from skimage.segmentation import watershed


def load_sample(root, sample_id):
    image = io.imread(os.path.join(root, sample_id, "images", sample_id + ".png"))
    mask_dir = os.path.join(root, sample_id, "masks")
    labels = np.zeros(image.shape[:2], np.int32)
    for k, name in enumerate(sorted(os.listdir(mask_dir)), start=1):
        mask = io.imread(os.path.join(mask_dir, name))
        labels[mask > 0] = k
    return image, labels


def segment(image, min_distance):
    rgb = image[..., :3] if image.ndim == 3 else np.stack([image] * 3, -1)
    gray = rgb2gray(rgb)
    # Nuclei are the minority class: the side of the Otsu threshold with fewer pixels.
    t = threshold_otsu(gray)
    fg = gray > t
    if fg.mean() > 0.5:
        fg = ~fg
    fg = ndi.binary_fill_holes(fg)
    fg = remove_small_objects(fg, 16)
    dist = ndi.distance_transform_edt(fg)
    cc, _ = ndi.label(fg)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=cc, exclude_border=False)
    markers = np.zeros(fg.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=fg)


def kaggle_score(truth, pred):
    """Mean over IoU thresholds 0.5..0.95 of TP / (TP + FP + FN); a match is IoU > t."""
    t_ids = np.unique(truth)
    t_ids = t_ids[t_ids > 0]
    p_ids = np.unique(pred)
    p_ids = p_ids[p_ids > 0]
    if len(t_ids) == 0 and len(p_ids) == 0:
        return 1.0
    if len(t_ids) == 0 or len(p_ids) == 0:
        return 0.0
    t_map = np.searchsorted(t_ids, truth)
    p_map = np.searchsorted(p_ids, pred)
    both = (truth > 0) & (pred > 0)
    inter = np.zeros((len(t_ids), len(p_ids)))
    np.add.at(inter, (t_map[both], p_map[both]), 1)
    t_area = np.bincount(t_map[truth > 0], minlength=len(t_ids))
    p_area = np.bincount(p_map[pred > 0], minlength=len(p_ids))
    iou = inter / (t_area[:, None] + p_area[None, :] - inter)
    scores = []
    for t in np.arange(0.5, 1.0, 0.05):
        m = iou > t  # each object matches at most one other for t >= 0.5
        tp = int(m.sum())
        fp = len(p_ids) - int(m.any(0).sum())
        fn = len(t_ids) - int(m.any(1).sum())
        scores.append(tp / (tp + fp + fn))
    return float(np.mean(scores))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--min-distance", type=int, default=5)
    ap.add_argument("--csv")
    ap.add_argument("--json", help="write {\"score\": mean, \"images\": count} here")
    args = ap.parse_args()
    ids = sorted(d for d in os.listdir(args.root) if ".tmp-" not in d and os.path.isdir(os.path.join(args.root, d)))
    if not ids:
        sys.exit("no samples under " + args.root)
    rows = []
    for sample_id in ids:
        image, truth = load_sample(args.root, sample_id)
        pred = segment(image, args.min_distance)
        rows.append((sample_id, kaggle_score(truth, pred), int(truth.max()), int(pred.max())))
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("id,score,true_objects,pred_objects\n")
            for r in rows:
                f.write("%s,%.4f,%d,%d\n" % r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"score": float(np.mean([r[1] for r in rows])), "images": len(rows)}, f)
    for r in rows:
        print("%-24s score %.3f  true %4d  pred %4d" % r)
    print("images %d  mean Kaggle score %.4f" % (len(rows), np.mean([r[1] for r in rows])))


if __name__ == "__main__":
    main()
