"""Kaggle DSB 2018 run-length encoding of every object of a label image, written with numpy
from the competition's definition (pixels numbered from 1, top to bottom, then left to right),
independently of nucseg's C++ encoder.

Usage: kaggle_rle_reference.py LABELS.npy  ->  one "label<TAB>start length ..." line per label.
"""
import sys

import numpy as np

labels = np.load(sys.argv[1])
for value in np.unique(labels):
    if value == 0:
        continue
    pixels = (labels == value).T.flatten().astype(np.int8)  # column-major order
    edges = np.flatnonzero(np.diff(np.concatenate([[0], pixels, [0]])))  # run starts and ends, 0-based
    starts, ends = edges[0::2], edges[1::2]
    print(f"{value}\t" + " ".join(f"{s + 1} {e - s}" for s, e in zip(starts, ends)))
