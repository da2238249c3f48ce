#!/usr/bin/python3
"""Merge the shares of an infer job array into one segmentation.h5.

    /usr/bin/python3 tools/merge_shares.py OUTPUT [--allow-incomplete]

`sbatch --array=0-7 jobs/infer.sbatch run.toml` writes OUTPUT/share-<i>/segmentation.h5, one
per array task. This writes OUTPUT/segmentation.h5 holding every share: /images/<id> external
links to share-<i>/images/<id>.h5 (relative, so OUTPUT can be moved as a whole), /index,
/objects and /failures concatenated in share order (a column some shares lack, e.g. the _um
columns of a share without pixel sizes, is NaN for their rows), and the provenance attributes
of the shares, which must agree (one checkpoint_hash, one settings): a merge never mixes models.
OUTPUT/objects.csv and images.csv concatenate the shares' CSVs (the same way), renamed into
place after segmentation.h5 (the old ones are deleted first).
A share that is missing, was stopped before it assembled its segmentation.h5, or left images
without a result (n_missing > 0) is refused unless --allow-incomplete. The file is written
under a temporary name and renamed. Exit codes: 0 merged, 1 a share unreadable, 2 shares that
disagree or are incomplete (the message names them), as the nucseg tools.
"""
import argparse
import glob
import os
import re
import sys

import h5py
import numpy as np
import pandas as pd

STRINGS = h5py.string_dtype(encoding="utf-8")


def text(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


# Index columns of later versions, with what a share written before them means.
INDEX_EXTRA = {"effective_bit_depth": (np.int64, 0), "scale": (np.float64, 1.0),
               "pixel_size_um": (np.float64, 0.0), "pixel_size_source": (STRINGS, "none")}


def merged_objects(shares):
    """{column: values} of the shares' /objects, in first-seen column order; NaN rows for a
    column a share does not have."""
    names = []
    for objects in shares:
        names += [k for k in objects if k not in names]
    merged = {}
    for k in names:
        parts = []
        for objects in shares:
            n = len(objects["label"])
            parts.append(objects[k] if k in objects else np.full(n, np.nan))
        merged[k] = [v for p in parts for v in p] if k == "image_id" else np.concatenate(parts)
    return merged


def write_csv(dirs, name, output):
    """OUTPUT/<name>: the shares' CSVs concatenated as text (columns a share lacks are empty);
    written to a temporary name. Returns (temporary, final), or None when a share has none."""
    parts = [os.path.join(d, name) for d in dirs]
    if not all(os.path.exists(p) for p in parts):
        print("merge_shares: %s not merged: a share has none (written by an older nucseg)" % name)
        return None
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts]
    final = os.path.join(output, name)
    tmp = "%s.tmp-%d" % (final, os.getpid())
    pd.concat(frames, ignore_index=True, sort=False).to_csv(tmp, index=False, na_rep="", lineterminator="\n")
    with open(tmp, "rb") as fd:
        os.fsync(fd.fileno())
    return tmp, final


def fail(code, message):
    print("merge_shares: error: " + message, file=sys.stderr)
    sys.exit(code)


def shares_of(output):
    found = []
    for path in glob.glob(os.path.join(output, "share-*")):
        m = re.fullmatch(r"share-(\d+)", os.path.basename(path))
        if m and os.path.isdir(path):
            found.append((int(m.group(1)), path))
    return [p for _, p in sorted(found)]


def write_column(group, name, values, dtype):
    data = np.asarray(values, dtype=dtype)
    kwargs = {"compression": "gzip", "compression_opts": 4} if len(data) else {}
    if len(data) and dtype is not STRINGS:
        kwargs["shuffle"] = True
    group.create_dataset(name, data=data, dtype=dtype, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", help="infer.output of the array job (holds share-<i>/)")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="merge shares whose images are not all done (their n_missing > 0)")
    args = parser.parse_args()

    dirs = shares_of(args.output)
    if not dirs:
        fail(2, "no share-<i> folders in " + args.output)
    numbers = [int(os.path.basename(d)[6:]) for d in dirs]
    if numbers != list(range(len(numbers))):
        fail(2, "shares are not 0..N-1: " + ", ".join(map(str, numbers)))
    files = []
    for d in dirs:
        path = os.path.join(d, "segmentation.h5")
        if not os.path.exists(path):
            fail(2, path + " is missing: that share has not finished (rerun it, see docs/hpc.md)")
        try:
            files.append(h5py.File(path, "r"))
        except OSError as e:
            fail(1, "cannot read " + path + ": " + str(e))

    first = files[0].attrs
    for d, f in zip(dirs, files):
        for key in ("checkpoint_hash", "settings"):
            if key in first and f.attrs.get(key) != first[key]:
                fail(2, "%s was made with another %s than %s: a merge never mixes models or settings"
                     % (d, key, dirs[0]))
        missing = int(f.attrs["n_inputs"]) - int(f.attrs["n_images"]) - int(f.attrs["n_failures"])
        if missing > 0 and not args.allow_incomplete:
            fail(2, "%s has %d image(s) without a result (a stopped run): rerun that share, or pass "
                 "--allow-incomplete" % (d, missing))

    final = os.path.join(args.output, "segmentation.h5")
    tmp = "%s.tmp-%d" % (final, os.getpid())
    index = {k: [] for k in ["image_id", "source_path", "relative_path", "file", "height", "width", "n_objects"]
             + list(INDEX_EXTRA)}
    shares, failures = [], {"image_id": [], "path": [], "reason": []}
    csvs = []
    for name in ("objects.csv", "images.csv"):  # an old merged CSV would not match the new file
        if os.path.exists(os.path.join(args.output, name)):
            os.remove(os.path.join(args.output, name))
    try:
        with h5py.File(tmp, "w") as out:
            for key, value in first.items():
                if key not in ("n_images", "n_objects", "n_failures", "n_inputs"):
                    out.attrs[key] = value
            out.attrs["shares"] = len(files)
            images = out.create_group("images")
            seen = set()
            for d, f in zip(dirs, files):
                share = os.path.basename(d)
                ids = text(f["index/image_id"][:])
                for i, rel in zip(ids, text(f["index/file"][:])):
                    if i in seen:
                        fail(2, "image id %s is in more than one share" % i)
                    seen.add(i)
                    link = share + "/" + rel
                    images[i] = h5py.ExternalLink(link, "/")
                    index["file"].append(link)
                index["image_id"] += ids
                for k in ("source_path", "relative_path"):
                    index[k] += text(f["index"][k][:])
                for k in ("height", "width", "n_objects"):
                    index[k] += list(f["index"][k][:])
                for k, (dtype, default) in INDEX_EXTRA.items():
                    if k not in f["index"]:
                        index[k] += [default] * len(ids)
                    else:
                        index[k] += text(f["index"][k][:]) if dtype is STRINGS else list(f["index"][k][:])
                shares.append({k: text(f["objects"][k][:]) if k == "image_id" else f["objects"][k][:]
                               for k in f["objects"]})
                for k in failures:
                    failures[k] += text(f["failures"][k][:])
            g = out.create_group("index")
            for k, values in index.items():
                dtype = INDEX_EXTRA[k][0] if k in INDEX_EXTRA else np.int64 if k in ("height", "width", "n_objects") else STRINGS
                write_column(g, k, values, dtype)
            g = out.create_group("objects")
            for k, values in merged_objects(shares).items():
                write_column(g, k, values, STRINGS if k == "image_id" else values.dtype)
            g = out.create_group("failures")
            for k, values in failures.items():
                write_column(g, k, values, STRINGS)
            out.attrs["n_images"] = len(index["image_id"])
            out.attrs["n_objects"] = int(sum(index["n_objects"]))
            out.attrs["n_failures"] = len(failures["path"])
            out.attrs["n_inputs"] = int(sum(int(f.attrs["n_inputs"]) for f in files))
        with h5py.File(tmp, "r") as back:  # read back before the rename
            assert len(back["index/image_id"]) == len(index["image_id"])
        with open(tmp, "rb") as fd:
            os.fsync(fd.fileno())
        csvs = [c for c in (write_csv(dirs, name, args.output) for name in ("objects.csv", "images.csv")) if c]
        os.replace(tmp, final)
        for t, f in csvs:
            os.replace(t, f)
    except BaseException:
        for t in [tmp] + [t for t, _ in csvs]:
            if os.path.exists(t):
                os.remove(t)
        raise
    print("merge_shares: %d shares, %d images, %d objects, %d failures -> %s"
          % (len(files), len(index["image_id"]), int(sum(index["n_objects"])), len(failures["path"]), final))


if __name__ == "__main__":
    main()
