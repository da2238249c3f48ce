#!/usr/bin/env python3
"""Agreement of two nucseg_infer results (segmentation.h5) pixel by pixel.

Instance numbers may differ between two runs that found the same nuclei (one object more or
less renumbers the rest), so each instance of A is mapped to the instance of B it overlaps
most (background to background) and a pixel agrees when B holds the instance its A instance
maps to. Also reports the class maps' agreement. Exit 1 when the labels agree on fewer than
--min of all pixels (or the two files hold different images), 0 otherwise.

usage: compare_labels.py A.h5 B.h5 [--min 0.995] [--label TEXT]
"""
import argparse
import sys

import h5py
import numpy as np


def mapped_agreement(a, b):
    """Pixels of a whose instance, mapped to its largest overlap in b, is b's label there."""
    a = a.astype(np.int64).ravel()
    b = b.astype(np.int64).ravel()
    if a.size == 0:
        return 0
    # Overlap counts of every (a, b) pair present, then each a label's best b label.
    pairs, counts = np.unique(np.stack([a, b]), axis=1, return_counts=True)
    order = np.lexsort((-counts, pairs[0]))  # per a label, the largest overlap first
    pairs = pairs[:, order]
    first = np.r_[True, pairs[0, 1:] != pairs[0, :-1]]
    best = dict(zip(pairs[0, first].tolist(), pairs[1, first].tolist()))
    best[0] = 0  # background is background
    lookup = np.vectorize(lambda v: best.get(v, -1), otypes=[np.int64])
    uniq, inverse = np.unique(a, return_inverse=True)
    return int(np.count_nonzero(lookup(uniq)[inverse] == b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--min", type=float, default=0.995)
    parser.add_argument("--label", default="labels")
    args = parser.parse_args()
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        ids_a, ids_b = sorted(fa["images"]), sorted(fb["images"])
        if ids_a != ids_b:
            print(f"{args.label}: the two files hold different images ({len(ids_a)} vs {len(ids_b)})")
            return 1
        total = agree = same_class = 0
        worst = (1.0, "")
        for image in ids_a:
            la, lb = fa["images"][image]["labels"][:], fb["images"][image]["labels"][:]
            if la.shape != lb.shape:
                print(f"{args.label}: {image} has shape {la.shape} vs {lb.shape}")
                return 1
            n = mapped_agreement(la, lb)
            ca, cb = fa["images"][image]["class_map"][:], fb["images"][image]["class_map"][:]
            same_class += int(np.count_nonzero(ca == cb))
            total += la.size
            agree += n
            worst = min(worst, (n / la.size, image))
    share = agree / total if total else 0.0
    verdict = "ok" if share >= args.min else "BELOW"
    print(f"{args.label}: {len(ids_a)} images, labels agree on {share:.5f} of pixels (min {args.min}: {verdict}), "
          f"class maps on {same_class / total if total else 0.0:.5f}; worst image {worst[1]} {worst[0]:.5f}")
    return 0 if share >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
