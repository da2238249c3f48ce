#!/usr/bin/python3
"""Load one packed image and its instance labels by id from a nucseg shard folder.

usage: read_shard.py <shard_dir> <id> [--png out.png]

Uses only h5py + numpy (stock gzip/shuffle filters): the schema is in docs/formats.md.
Exit codes: 0 found, 1 id not found or unreadable folder.
"""
import argparse
import os
import sys

import h5py
import numpy as np


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


READ_VERSIONS = (1, 2)  # version 2 added effective_bits, nucleus_diameter and channels


def column_value(column, row):
    kind = column.dtype.kind
    return text(column[row]) if kind in "OSU" else float(column[row]) if kind == "f" else int(column[row])


def load(shard_dir, image_id):
    """Returns (entry dict, image HxWx3, labels HxW, classes HxW) for `image_id`."""
    with h5py.File(os.path.join(shard_dir, "index.h5"), "r") as index:
        if text(index.attrs["format"]) != "nucseg-shard" or int(index.attrs["format_version"]) not in READ_VERSIONS:
            raise ValueError("not a nucseg shard index of format version %s" % " or ".join(map(str, READ_VERSIONS)))
        ids = [text(v) for v in index["entries/id"][:]]
        if image_id not in ids:
            raise KeyError(image_id)
        row = ids.index(image_id)
        entries = index["entries"]
        entry = {name: column_value(entries[name], row) for name in entries}
        shard_file = text(index["shards/file"][entry["shard"]])
    with h5py.File(os.path.join(shard_dir, shard_file), "r") as shard:
        group = shard["images/%06d" % entry["slot"]]
        if text(group.attrs["id"]) != image_id:
            raise ValueError("shard %s slot %d holds %s" % (shard_file, entry["slot"], text(group.attrs["id"])))
        return entry, shard_file, group["image"][()], group["labels"][()], group["classes"][()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("shard_dir")
    parser.add_argument("id")
    parser.add_argument("--png", help="write the image (RGB, original bit depth) to this PNG file")
    args = parser.parse_args()
    try:
        entry, shard_file, image, labels, classes = load(args.shard_dir, args.id)
    except KeyError:
        print("read_shard.py: no image with id '%s' in %s" % (args.id, args.shard_dir), file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print("read_shard.py: %s: %s" % (args.shard_dir, e), file=sys.stderr)
        return 1
    nuclei = len(np.unique(labels[labels > 0]))
    print("id: %s" % args.id)
    print("shard: %s slot %d split %s" % (shard_file, entry["slot"], entry["split"]))
    print("image: shape %s dtype %s bit_depth %d effective_bits %s" %
          (image.shape, image.dtype, entry["bit_depth"], entry.get("effective_bits", "unknown")))
    diameter = entry.get("nucleus_diameter")
    print("labels: shape %s dtype %s nuclei %d median diameter %s" %
          (labels.shape, labels.dtype, nuclei, "%.1f px" % diameter if diameter is not None else "unknown"))
    print("classes: background %d interior %d border %d" % tuple(int((classes == c).sum()) for c in range(3)))
    if args.png:
        import cv2  # only needed for --png
        if not cv2.imwrite(args.png, np.ascontiguousarray(image[:, :, ::-1])):
            print("read_shard.py: cannot write %s" % args.png, file=sys.stderr)
            return 1
        print("wrote %s" % args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
