#!/usr/bin/python3
"""Sanity check of a Kaggle-layout set: every mask binary 0/255 (or 0/1), non-empty, one
4-connected region, the image's size, and no two masks overlapping.

Usage: /usr/bin/python3 tools/crosscheck/check_set.py ROOT [ROOT2]
With ROOT2, also checks that the two sets are byte-identical (determinism per seed).
Exit 0 when all holds, 1 with one line per problem otherwise.
"""
import filecmp
import os
import sys

import cv2
import numpy as np
from scipy import ndimage as ndi


def sample_ids(root):
    return sorted(d for d in os.listdir(root) if ".tmp-" not in d and os.path.isdir(os.path.join(root, d)))


def check_sample(root, sid):
    problems = []
    image = cv2.imread(os.path.join(root, sid, "images", sid + ".png"), cv2.IMREAD_UNCHANGED)
    if image is None:
        return ["%s: image unreadable" % sid], 0
    owner = np.zeros(image.shape[:2], np.int32)
    names = sorted(os.listdir(os.path.join(root, sid, "masks")))
    if not names:
        problems.append("%s: no masks" % sid)
    for k, name in enumerate(names, start=1):
        m = cv2.imread(os.path.join(root, sid, "masks", name), cv2.IMREAD_UNCHANGED)
        where = "%s/%s" % (sid, name)
        if m is None or m.ndim != 2 or m.shape != image.shape[:2]:
            problems.append(where + ": unreadable, not single-channel or wrong size")
            continue
        if not set(np.unique(m)) <= {0, 1, 255}:
            problems.append(where + ": not binary")
        fg = m > 0
        if not fg.any():
            problems.append(where + ": empty")
            continue
        if ndi.label(fg)[1] != 1:
            problems.append(where + ": not one 4-connected region")
        if (owner[fg] > 0).any():
            problems.append(where + ": overlaps mask %d" % owner[fg].max())
        owner[fg] = k
    return problems, len(names)


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)[1:] != ([], []):
        return False
    return all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    root = sys.argv[1]
    problems, masks = [], 0
    ids = sample_ids(root)
    for sid in ids:
        p, n = check_sample(root, sid)
        problems += p
        masks += n
    if len(sys.argv) == 3 and not same_tree(root, sys.argv[2]):
        problems.append("%s and %s differ" % (root, sys.argv[2]))
    for p in problems:
        print("check_set: " + p)
    print("check_set: %d images, %d masks, %d problems" % (len(ids), masks, len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
