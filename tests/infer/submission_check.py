"""Reads a submission.csv written by nucseg_infer (infer.export_rle) with Python's csv module
and decodes every row with numpy from the Kaggle DSB 2018 definition (pixels numbered from 1,
top to bottom, then left to right), independently of nucseg's decoder.

Usage: submission_check.py submission.csv ID=LABELS.npy ...
Prints one "id<TAB>rows<TAB>match" line per given id: match is 1 when the decoded rows are
exactly the objects of the label image (an image without objects: one row, empty).
"""
import csv
import sys

import numpy as np

rows = {}
with open(sys.argv[1], newline="") as f:
    reader = csv.reader(f)
    assert next(reader) == ["ImageId", "EncodedPixels"]
    for image_id, encoded in reader:
        rows.setdefault(image_id, []).append(encoded)

for arg in sys.argv[2:]:
    image_id, path = arg.rsplit("=", 1)
    labels = np.load(path)
    truth = sorted(tuple(np.flatnonzero((labels == v).T.flatten())) for v in np.unique(labels) if v != 0)
    decoded = []
    for encoded in rows.get(image_id, []):
        numbers = [int(n) for n in encoded.split()]
        pixels = []
        for start, length in zip(numbers[0::2], numbers[1::2]):
            pixels.extend(range(start - 1, start - 1 + length))
        if pixels:
            decoded.append(tuple(pixels))
    empty_ok = not truth and rows.get(image_id) == [""]
    match = sorted(decoded) == truth and (bool(truth) or empty_ok)
    print(f"{image_id}\t{len(rows.get(image_id, []))}\t{int(match)}")
