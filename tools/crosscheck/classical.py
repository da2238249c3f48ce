#!/usr/bin/python3
"""tools/classical_baseline.py's segmentation and score on any cross-check set.

Reads what convert.py writes as well as Kaggle PNG sets: Kaggle layout with a PNG or TIFF
image per folder (8/16-bit, gray/RGB/RGBA, 3-channel TIFF contiguous or as pages), or the flat
layout images/<id>.* + masks/<id>.{png,tif} where the mask is an instance label image (each
value one nucleus). Without --channel a multichannel image goes in as the baseline takes any
RGB image (its gray mean), as a tool that is not told the channel would; --channel C uses C.

Usage: /usr/bin/python3 tools/crosscheck/classical.py SET [--channel C] [--csv out.csv]
           [--json out.json] [--min-distance 5]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import classical_baseline  # noqa: E402  (tools/classical_baseline.py)
from overlay import read_any, read_labels  # noqa: E402  (tools/overlay.py)


def first_with_stem(folder, stem):
    names = [n for n in sorted(os.listdir(folder)) if os.path.splitext(n)[0] == stem and ".tmp-" not in n]
    return os.path.join(folder, names[0]) if names else None


def samples(root):
    """Yields (id, image path, truth loader)."""
    if os.path.isdir(os.path.join(root, "images")) and os.path.isdir(os.path.join(root, "masks")):
        for name in sorted(os.listdir(os.path.join(root, "images"))):
            sid = os.path.splitext(name)[0]
            if name.startswith(".") or ".tmp-" in name:
                continue
            mask = first_with_stem(os.path.join(root, "masks"), sid)
            if mask is None:
                sys.exit("classical: no mask for " + name)
            yield sid, os.path.join(root, "images", name), (lambda m=mask: read_any(m).astype(np.int64))
        return
    for sid in sorted(os.listdir(root)):
        folder = os.path.join(root, sid)
        if ".tmp-" in sid or not os.path.isdir(os.path.join(folder, "images")):
            continue
        image = first_with_stem(os.path.join(folder, "images"), sid)
        yield sid, image, (lambda f=folder: read_labels(os.path.join(f, "masks"), None))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--channel", type=int, help="use only this channel of the image")
    ap.add_argument("--min-distance", type=int, default=5)
    ap.add_argument("--csv")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    for sid, path, truth in samples(a.root):
        image = read_any(path)
        if a.channel is not None and image.ndim == 3:
            image = image[..., a.channel]
        pred = classical_baseline.segment(image, a.min_distance)
        t = truth()
        rows.append((sid, classical_baseline.kaggle_score(t, pred), len(np.unique(t[t > 0])), int(pred.max())))
    if not rows:
        sys.exit("classical: no samples under " + a.root)
    mean = float(np.mean([r[1] for r in rows]))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("id,score,true_objects,pred_objects\n")
            f.writelines("%s,%.4f,%d,%d\n" % r for r in rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"score": mean, "images": len(rows)}, f)
    print("classical: images %d  mean Kaggle score %.4f" % (len(rows), mean))


if __name__ == "__main__":
    main()
