#!/usr/bin/python3
"""Write converted copies of a Kaggle-layout set, the ways real data arrives.

Usage: /usr/bin/python3 tools/crosscheck/convert.py SRC OUT --to MODE [options]

  --to bits12        images as 16-bit PNG (gray when R=G=B, else RGB) scaled to 0..4095,
                     12-bit camera data; the 8-bit steps are dithered (+-0.5 input level)
  --to bits16        the same over the full 0..65535 range
  --to float32       images as 32-bit float TIFF (ImageJ's "32-bit", deconvolution output):
                     gray when R=G=B, else 3 samples; the dithered 8-bit values mapped to
                     -0.2 .. 3.5 (a background-subtracted, rescaled signal), a few NaN pixels
  --to zoom2         images and masks upscaled 2x (magnification change)
  --to zoom --zoom F the same for any factor F (images --interp linear|cubic, masks nearest;
                     below 1, masks that vanish are dropped and each keeps its largest piece)
  --to flat-labels   flat layout OUT/images/<id>.png (the image, unchanged) + OUT/masks/<id>.png,
                     ONE 16-bit instance label image per image (1..N, touching nuclei keep
                     distinct values), as StarDist/Cellpose/napari store annotations;
                     --label-format tif writes OUT/masks/<id>.tif as 32-bit labels instead
  --to paired        Cellpose's training folder: OUT/<id>.png (the image) beside
                     OUT/<id>_masks.png, a 16-bit instance label image (--label-format tif:
                     OUT/<id>_masks.tif, 32-bit)
  --to multichannel  images as 3-channel 16-bit TIFF: channel 0 a cytoplasm-like decoy marker
                     (brighter than the nuclei), 1 the nuclear stain (the original image's
                     gray), 2 a random speckle marker; a tool must pick channel 1.
                     --tiff-layout contig (default: one RGB-like page, samples interleaved) or
                     pages (3 pages C,Y,X, ImageJ hyperstack metadata)

Kaggle-layout outputs keep the mask files (and OUT/manifest.csv, sizes updated for zoom).
Deterministic: the random parts are seeded by --seed and the image id.
"""
import argparse
import csv
import os
import shutil
import sys
import zlib

import cv2
import numpy as np
from scipy import ndimage as ndi


def sample_ids(root):
    ids = sorted(d for d in os.listdir(root) if ".tmp-" not in d and os.path.isdir(os.path.join(root, d, "images")))
    if not ids:
        sys.exit("convert: no <id>/images folders under " + root)
    return ids


def image_path(root, sid):
    folder = os.path.join(root, sid, "images")
    names = [n for n in sorted(os.listdir(folder)) if os.path.splitext(n)[0] == sid] or sorted(os.listdir(folder))
    return os.path.join(folder, names[0])


def read_rgb(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        sys.exit("convert: cannot read " + path)
    if img.ndim == 2:
        return np.stack([img] * 3, -1)
    return img[..., 2::-1] if img.shape[2] >= 3 else np.stack([img[..., 0]] * 3, -1)


def mask_names(root, sid):
    folder = os.path.join(root, sid, "masks")
    return [n for n in sorted(os.listdir(folder)) if not n.startswith(".")]


def read_labels(root, sid, shape):
    labels = np.zeros(shape, np.int32)
    names = mask_names(root, sid)
    for k, name in enumerate(names, start=1):
        m = cv2.imread(os.path.join(root, sid, "masks", name), cv2.IMREAD_UNCHANGED)
        if m is None or m.shape[:2] != shape:
            sys.exit("convert: mask %s/%s unreadable or of another size" % (sid, name))
        labels[(m.max(axis=2) if m.ndim == 3 else m) > 0] = k
    return labels, names


def rng_for(seed, sid):
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(sid.encode())]))


def write_image(path, img):
    if path.endswith((".tif", ".tiff")):
        raise ValueError("use tifffile for TIFF")
    bgr = img[..., ::-1] if img.ndim == 3 else img
    if not cv2.imwrite(path, np.ascontiguousarray(bgr)):
        sys.exit("convert: cannot write " + path)


def kaggle_sample(src, out, sid, image_name, image_writer, labels=None, names=None):
    """Writes OUT/<id>/ under a temporary name: the image by image_writer(path), the masks
    copied (labels None) or rewritten from `labels` under their original names."""
    final = os.path.join(out, sid)
    tmp = final + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "images"))
    image_writer(os.path.join(tmp, "images", image_name))
    if labels is None:
        shutil.copytree(os.path.join(src, sid, "masks"), os.path.join(tmp, "masks"))
    else:
        os.makedirs(os.path.join(tmp, "masks"))
        for k, name in enumerate(names, start=1):
            m = labels == k
            if m.any():
                write_image(os.path.join(tmp, "masks", os.path.splitext(name)[0] + ".png"), m.astype(np.uint8) * 255)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)


def to_bits(rgb, bits, rng):
    top = (1 << bits) - 1
    v = (rgb.astype(np.float32) + rng.uniform(-0.5, 0.5, rgb.shape)) * (top / 255.0)
    v = np.clip(np.rint(v), 0, top).astype(np.uint16)
    gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    return v[..., 0] if gray else v


def to_float(rgb, rng):
    v = (rgb.astype(np.float32) + rng.uniform(-0.5, 0.5, rgb.shape).astype(np.float32)) * (3.7 / 255.0) - 0.2
    gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    v = v[..., 0].copy() if gray else v
    holes = rng.random(v.shape[:2]) < 1e-4  # dead pixels a processing step left undefined
    v[holes] = np.nan
    return v.astype(np.float32)


def largest_pieces(labels):
    cross = ndi.generate_binary_structure(2, 1)
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        comp, n = ndi.label(labels[sl] == k, cross)
        if n > 1:
            sizes = np.bincount(comp.ravel())[1:]
            labels[sl][(comp > 0) & (comp != np.argmax(sizes) + 1)] = 0
    return labels


def zoomed(rgb, labels, factor, interp):
    h, w = labels.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    flag = cv2.INTER_CUBIC if interp == "cubic" else cv2.INTER_LINEAR
    img = np.clip(cv2.resize(rgb.astype(np.float32), size, interpolation=flag), 0, 255)
    # NEAREST_EXACT samples at pixel centres as the linear image resize does; plain NEAREST is
    # offset by up to half a pixel, which at 0.5x had cost the truth ~0.2 of its foreground IoU.
    lab = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST_EXACT)
    if factor < 1:
        lab = largest_pieces(lab)
    return np.rint(img).astype(np.uint8), lab


def decoy_channels(rgb, labels, rng):
    """Channel 0: cytoplasm-like marker around each nucleus (dimmer over it), brighter than the
    nuclear channel; channel 2: speckles everywhere. Both 0..1 floats."""
    shape = labels.shape
    n = int(labels.max())
    if n:
        areas = np.bincount(labels.ravel(), minlength=n + 1).astype(np.float32)
        radius = np.sqrt(areas / np.pi)
        dist, (iy, ix) = ndi.distance_transform_edt(labels == 0, return_indices=True)
        owner = labels[iy, ix]
        reach = radius[owner] * rng.uniform(0.6, 1.4)
        cyto = np.clip((reach - dist) / 2.0, 0, 1) * (1 - 0.55 * (labels > 0))
    else:
        cyto = np.zeros(shape, np.float32)
    texture = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 2.0)
    cyto = cv2.GaussianBlur(cyto.astype(np.float32), (0, 0), 1.2) * np.clip(1 + 1.5 * texture, 0.2, None)
    spots = (rng.random(shape) < 1.0 / 120).astype(np.float32) * rng.uniform(0.3, 1.0, shape).astype(np.float32)
    speckle = cv2.GaussianBlur(spots, (0, 0), 1.3) * 12
    return cyto, speckle


def multichannel(rgb, labels, rng):
    gray = rgb.astype(np.float32).mean(axis=2) / 255.0
    cyto, speckle = decoy_channels(rgb, labels, rng)
    chans = [0.03 + 0.95 * cyto / max(np.percentile(cyto, 99.5), 1e-6), gray, 0.05 + speckle]
    out = []
    for c in chans:
        c = c * 0.9 * 65535 + rng.normal(0, 300, c.shape)
        out.append(np.clip(np.rint(c), 0, 65535).astype(np.uint16))
    return np.stack(out, axis=-1)


def write_manifest(src, out, factor, sizes):
    path = os.path.join(src, "manifest.csv")
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    fields = list(rows[0])
    for r in rows:
        if factor != 1 and "mean_diameter_px" in r:
            r["mean_diameter_px"] = "%.2f" % (float(r["mean_diameter_px"]) * factor)
        if r["id"] in sizes and "height" in r:
            r["height"], r["width"] = sizes[r["id"]]
    with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(rows)


def convert_one(a, sid, flat_dirs):
    src_img = image_path(a.src, sid)
    rgb = read_rgb(src_img)
    rng = rng_for(a.seed, sid)
    if rgb.dtype != np.uint8:
        sys.exit("convert: %s is not 8-bit; convert from the 8-bit set" % src_img)
    if a.to == "float32":
        import tifffile
        img = to_float(rgb, rng)
        kind = "rgb" if img.ndim == 3 else "minisblack"
        kaggle_sample(a.src, a.out, sid, sid + ".tif", lambda p: tifffile.imwrite(p, img, photometric=kind))
        return img.shape[:2]
    if a.to in ("bits12", "bits16"):
        img = to_bits(rgb, 12 if a.to == "bits12" else 16, rng)
        kaggle_sample(a.src, a.out, sid, sid + ".png", lambda p: write_image(p, img))
        return img.shape[:2]
    labels, names = read_labels(a.src, sid, rgb.shape[:2])
    if a.to in ("zoom", "zoom2"):
        img, lab = zoomed(rgb, labels, a.zoom, a.interp)
        kaggle_sample(a.src, a.out, sid, sid + ".png", lambda p: write_image(p, img), lab, names)
        return img.shape[:2]
    if a.to == "multichannel":
        import tifffile
        stack = multichannel(rgb, labels, rng)

        def writer(p):
            if a.tiff_layout == "pages":
                tifffile.imwrite(p, np.moveaxis(stack, -1, 0), imagej=True, metadata={"axes": "CYX"})
            else:
                tifffile.imwrite(p, stack, photometric="rgb")
        kaggle_sample(a.src, a.out, sid, sid + ".tif", writer)
        return stack.shape[:2]
    # flat-labels, paired
    images_dir, masks_dir = flat_dirs
    ext = os.path.splitext(src_img)[1]
    shutil.copyfile(src_img, os.path.join(images_dir, sid + ext))
    if a.to == "paired":
        sid = sid + "_masks"
    if a.label_format == "tif":
        import tifffile
        tmp = os.path.join(masks_dir, sid + ".tmp-%d.tif" % os.getpid())
        tifffile.imwrite(tmp, labels.astype(np.uint32))
        os.replace(tmp, os.path.join(masks_dir, sid + ".tif"))
    else:
        if labels.max() > 65535:
            sys.exit("convert: %s has more than 65535 nuclei; use --label-format tif" % sid)
        tmp = os.path.join(masks_dir, sid + ".tmp-%d.png" % os.getpid())
        write_image(tmp, labels.astype(np.uint16))
        os.replace(tmp, os.path.join(masks_dir, sid + ".png"))
    return rgb.shape[:2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="Kaggle-layout set")
    ap.add_argument("out")
    ap.add_argument("--to", required=True, choices=["bits12", "bits16", "float32", "zoom2", "zoom", "flat-labels", "paired", "multichannel"])
    ap.add_argument("--zoom", type=float, help="magnification factor for --to zoom")
    ap.add_argument("--interp", choices=["linear", "cubic"], default="cubic", help="image interpolation for zoom")
    ap.add_argument("--label-format", choices=["png", "tif"], default="png", help="flat-labels, paired: 16-bit PNG or 32-bit TIFF")
    ap.add_argument("--tiff-layout", choices=["contig", "pages"], default="contig", help="multichannel TIFF layout")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.to == "zoom2":
        a.zoom = 2.0
    if a.to == "zoom" and (a.zoom is None or not 0.1 <= a.zoom <= 8):
        ap.error("--to zoom needs --zoom F with 0.1 <= F <= 8")
    if os.path.abspath(a.src) == os.path.abspath(a.out):
        ap.error("OUT must differ from SRC")
    ids = sample_ids(a.src)
    os.makedirs(a.out, exist_ok=True)
    flat_dirs = None
    if a.to == "flat-labels":
        flat_dirs = (os.path.join(a.out, "images"), os.path.join(a.out, "masks"))
        for d in flat_dirs:
            os.makedirs(d, exist_ok=True)
    elif a.to == "paired":
        flat_dirs = (a.out, a.out)
    sizes = {sid: convert_one(a, sid, flat_dirs) for sid in ids}
    write_manifest(a.src, a.out, a.zoom if a.to in ("zoom", "zoom2") else 1.0, sizes)
    print("convert: %d images %s -> %s (%s)" % (len(ids), a.src, a.out, a.to))


if __name__ == "__main__":
    main()
