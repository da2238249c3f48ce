#!/usr/bin/python3
"""Independent reference for the Kaggle Data Science Bowl 2018 score (numpy only).

Written from the competition's definition, not from nucseg's C++: for each IoU threshold
t in 0.50, 0.55, ..., 0.95 a predicted object "hits" a true object when IoU > t;
TP = true objects hit by exactly one prediction, FP = predictions hitting nothing,
FN = true objects hit by nothing; score(t) = TP / (TP + FP + FN); the image score is the
mean over thresholds. Both images empty scores 1. IoUs are compared as exact fractions,
so an IoU of exactly 0.5 is not a hit at 0.5.

Usage: kaggle_score_reference.py DIR
  DIR holds pairs <name>.truth.npy / <name>.pred.npy (2-D integer label images, 0 = background).
  Prints one line per pair, sorted by name:
  name score n_true n_pred tp*10 fp*10 fn*10 pixel_accuracy fg_iou fg_dice merged split missed outline
  (the last four: the false negatives at IoU 0.5 by cause, docs/eval.md "Why objects are lost")
"""
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

THRESHOLDS = [Fraction(50 + 5 * k, 100) for k in range(10)]


def score_pair(truth, pred):
    true_ids = [v for v in np.unique(truth) if v != 0]
    pred_ids = [v for v in np.unique(pred) if v != 0]
    # Full IoU matrix by explicit masks: slow but obviously right.
    iou = [[None] * len(pred_ids) for _ in true_ids]
    for i, t in enumerate(true_ids):
        tm = truth == t
        for j, p in enumerate(pred_ids):
            pm = pred == p
            inter = int(np.logical_and(tm, pm).sum())
            union = int(np.logical_or(tm, pm).sum())
            iou[i][j] = Fraction(inter, union)
    tps, fps, fns, scores = [], [], [], []
    for t in THRESHOLDS:
        hits = [[iou[i][j] > t for j in range(len(pred_ids))] for i in range(len(true_ids))]
        tp = sum(1 for i in range(len(true_ids)) if sum(hits[i]) == 1)
        fn = sum(1 for i in range(len(true_ids)) if sum(hits[i]) == 0)
        fp = sum(1 for j in range(len(pred_ids)) if not any(hits[i][j] for i in range(len(true_ids))))
        tps.append(tp)
        fps.append(fp)
        fns.append(fn)
        scores.append(1.0 if tp + fp + fn == 0 else tp / (tp + fp + fn))
    tf, pf = truth > 0, pred > 0
    accuracy = float(np.mean(tf == pf)) if truth.size else 1.0
    inter, union, total = int((tf & pf).sum()), int((tf | pf).sum()), int(tf.sum() + pf.sum())
    fg_iou = inter / union if union else 1.0
    fg_dice = 2 * inter / total if total else 1.0
    causes = miss_causes(truth, pred, true_ids, pred_ids, iou)
    return float(np.mean(scores)), len(true_ids), len(pred_ids), tps, fps, fns, accuracy, fg_iou, fg_dice, causes


def miss_causes(truth, pred, true_ids, pred_ids, iou):
    """Each true object without an IoU > 1/2 partner, by cause: a prediction covering more
    than half of it that also covers more than half of another true object (merged); more than
    half covered only by several together (split); at most half covered (missed); else outline."""
    cover = [[int(np.logical_and(truth == t, pred == p).sum()) for p in pred_ids] for t in true_ids]
    area = [int((truth == t).sum()) for t in true_ids]
    majority = [[2 * cover[i][j] > area[i] for j in range(len(pred_ids))] for i in range(len(true_ids))]
    merged = split = missed = outline = 0
    for i in range(len(true_ids)):
        if any(iou[i][j] > Fraction(1, 2) for j in range(len(pred_ids))):
            continue
        if 2 * sum(cover[i]) <= area[i]:
            missed += 1
        elif not any(majority[i]):
            split += 1
        else:
            j = majority[i].index(True)
            if sum(majority[k][j] for k in range(len(true_ids))) >= 2:
                merged += 1
            else:
                outline += 1
    return [merged, split, missed, outline]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(sys.argv[1])
    names = sorted(p.name[: -len(".truth.npy")] for p in folder.glob("*.truth.npy"))
    if not names:
        print(f"no *.truth.npy files in {folder}", file=sys.stderr)
        return 1
    for name in names:
        truth = np.load(folder / f"{name}.truth.npy")
        pred = np.load(folder / f"{name}.pred.npy")
        if truth.shape != pred.shape:
            print(f"{name}: shapes differ {truth.shape} {pred.shape}", file=sys.stderr)
            return 1
        s, nt, npred, tps, fps, fns, acc, iou, dice, causes = score_pair(truth, pred)
        fields = [name, repr(s), str(nt), str(npred)] + [str(v) for v in tps + fps + fns] + [repr(acc), repr(iou), repr(dice)]
        fields += [str(v) for v in causes]
        print(" ".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
