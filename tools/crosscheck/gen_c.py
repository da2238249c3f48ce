#!/usr/bin/python3
"""gen_c: an independent generator of labelled nuclei images (Kaggle DSB 2018 stage1 layout).

Written without reading nucseg's own generator (src/synth) or gen_b, so that a network tuned
on those meets images it was never tuned to. Layouts: sparse, clustered, crowded (overlapping
nuclei; the later one lies on top and owns the overlap) and tissue (density varies, stromal
nuclei elongated along a flow field); one or two size populations, 5-45 px diameter;
star-convex Fourier outlines, chromatin texture, bright chromocentres and dark nucleoli.
Styles: fluo, bright, he, ihc (see genc_render.py); mixed draws one per image.

Output: OUT/<id>/images/<id>.png (8-bit RGB or RGBA), OUT/<id>/masks/<k>.png (0/255, one per
nucleus, non-overlapping, each 4-connected), OUT/manifest.csv. Image i of seed S is the same
whatever --n is; each image folder is written under a temporary name and renamed.

Usage: /usr/bin/python3 tools/crosscheck/gen_c.py OUT --n 30 --seed 1 [--style mixed]
           [--min-side 256 --max-side 512] [--jobs 1]
"""
import argparse
import hashlib
import os
import shutil
import struct
import sys
import time
import zlib
from multiprocessing import Pool

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genc_layout  # noqa: E402
import genc_render  # noqa: E402

STYLES = ("fluo", "bright", "he", "ihc")
MIXED_WEIGHTS = (0.4, 0.2, 0.2, 0.2)  # stage1 is mostly fluorescence
LAYOUTS = {  # layout kind -> probability, per style
    "fluo": {"sparse": 0.25, "clustered": 0.35, "crowded": 0.4},
    "bright": {"sparse": 0.3, "clustered": 0.4, "crowded": 0.3},
    "he": {"tissue": 0.6, "clustered": 0.15, "crowded": 0.25},
    "ihc": {"tissue": 0.6, "clustered": 0.2, "crowded": 0.2},
}
DIAMETER = {"fluo": (7, 38), "bright": (10, 38), "he": (10, 34), "ihc": (10, 34)}  # main population


def u(rng, a, b):
    return float(rng.uniform(a, b))


def log_u(rng, a, b):
    return float(np.exp(rng.uniform(np.log(a), np.log(b))))


def pick(rng, table):
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    return keys[rng.choice(len(keys), p=p / p.sum())]


def image_shape(rng, lo, hi):
    h = int(rng.integers(lo, hi + 1))
    w = int(np.clip(round(h * rng.choice([1.0, 1.0, 1.25, 4 / 3, 0.8])), lo, hi))
    return h, w


def populations(rng, style):
    d1 = log_u(rng, *DIAMETER[style])
    if style == "fluo" and rng.random() < 0.12:
        d1 = u(rng, 5, 8)  # low magnification: tiny nuclei
    pops = [{"d": d1, "jitter": u(rng, 0.06, 0.2), "frac": 1.0}]
    if rng.random() < 0.35:  # a second population (other cell type, dividing cells, debris)
        f = u(rng, 1.5, 2.2) if rng.random() < 0.6 else u(rng, 0.45, 0.65)
        pops.append({"d": float(np.clip(d1 * f, 5, 45)), "jitter": 0.12, "frac": u(rng, 0.1, 0.35)})
    return pops


def layout_params(rng, style, shape):
    kind = pick(rng, LAYOUTS[style])
    pops = populations(rng, style)
    d1 = pops[0]["d"]
    p = {"pops": pops, "max_n": 500, "flow": None, "density": np.ones(shape, np.float32),
         "irregular": u(rng, 0.05, 0.45 if style in ("he", "ihc") else 0.3), "elong_max": u(rng, 0.08, 0.35)}
    if kind == "sparse":
        p.update(cover=u(rng, 0.04, 0.14), sep=u(rng, 1.1, 2.2))
    elif kind == "clustered":
        field = genc_layout.smooth_noise(rng, shape, 2.5 * d1)
        p.update(cover=u(rng, 0.15, 0.35), sep=u(rng, 0.72, 0.98),
                 density=np.clip((field + u(rng, -0.6, 0.3)) * 2, 0.02, 1))
    elif kind == "crowded":
        p.update(cover=u(rng, 0.35, 0.6), sep=u(rng, 0.62, 0.85))
    else:  # tissue: dense epithelial nests in sparse stroma with elongated nuclei
        field = genc_layout.smooth_noise(rng, shape, 4 * d1)
        flow = genc_layout.smooth_noise(rng, shape, 6 * d1) * 1.2
        p.update(cover=u(rng, 0.2, 0.5), sep=u(rng, 0.65, 0.92), flow=flow,
                 density=np.clip(0.12 + 0.88 / (1 + np.exp(-2.5 * (field + u(rng, -0.3, 0.5)))), 0, 1),
                 elong_max=u(rng, 0.2, 0.5))
    return kind, p


def assign_fn(style, rng, nuclear_dab):
    """Per-nucleus (amount, dome, channel) drawn from image-level settings."""
    spread = {"fluo": u(rng, 0.15, 0.6), "bright": u(rng, 0.1, 0.3)}.get(style, u(rng, 0.15, 0.35))
    dome = u(rng, 0.0, 0.7) if style == "fluo" else u(rng, 0.0, 0.3)
    pos_frac = u(rng, 0.05, 0.7) if nuclear_dab else 0.0

    def assign(r, n):
        amp = float(np.exp(r.normal(0, spread)))
        if style == "fluo" and r.random() < 0.03:
            amp *= 2.5  # condensed, mitotic
        channel = int(style == "ihc" and r.random() < pos_frac)
        return amp, float(np.clip(dome + r.normal(0, 0.1), 0, 1)), channel

    return assign


def colour(rng, style):
    if style == "fluo":
        choices = [np.ones(3), np.array([0.25, 0.45, 1.0]), np.array([0.2, 1.0, 0.3]), np.array([1.0, 0.25, 0.2])]
        return choices[rng.choice(4, p=[0.65, 0.15, 0.1, 0.1])]
    if rng.random() < 0.7:
        return np.ones(3)
    return np.clip(1 - np.abs(rng.normal(0, 0.08, 3)), 0.7, 1)


def render_params(rng, style, d_mean, nuclear_dab):
    r = {"d_mean": d_mean, "vignette": u(rng, 0, 0.45) if rng.random() < 0.7 else 0.0,
         "gradient": u(rng, 0, 0.3), "defocus": u(rng, 0, 2.0) if rng.random() < 0.5 else u(rng, 0, 0.5),
         "texture": u(rng, 0.05, 0.45), "spots": u(rng, 0, 1.8), "cell_reach": u(rng, 1.4, 2.4)}
    if style == "fluo":
        multi = rng.random() < 0.15
        r.update(haze=u(rng, 0, 0.35), haze_sigma=u(rng, 1, 3) * d_mean, background=u(rng, 0.01, 0.1),
                 cyto=u(rng, 0.02, 0.15) if (multi or rng.random() < 0.5) else 0.0, photons=log_u(rng, 15, 2000),
                 read_noise=u(rng, 0.002, 0.03), headroom=u(rng, 0.85, 1.4), offset=u(rng, 0, 0.05),
                 gamma=u(rng, 0.7, 1.2) if rng.random() < 0.3 else 1.0, tint=colour(rng, style),
                 cyto_tint=np.array([1.0, 0.3, 0.1]) if multi else None, cyto_colour_level=u(rng, 0.1, 0.35))
        if multi:
            r["tint"] = np.array([0.3, 0.4, 1.0])
    elif style == "bright":
        r.update(mode="phase" if rng.random() < 0.6 else "absorb", contrast=u(rng, 0.15, 0.6), halo=u(rng, 0.1, 0.5),
                 halo_sigma=u(rng, 2, 5), shade_sigma=0.4 * d_mean, shade_off=u(rng, 0, 0.6),
                 polarity=1.0 if rng.random() < 0.8 else -1.0, level=u(rng, 0.5, 0.85), cyto=u(rng, 0.1, 0.4),
                 photons=log_u(rng, 200, 3000), read_noise=u(rng, 0.005, 0.02), tint=colour(rng, style))
    else:
        r.update(rim=u(rng, 0, 0.6), hema_bg=u(rng, 0.02, 0.12), fibre_len=u(rng, 6, 20), space_scale=u(rng, 20, 60),
                 tissue_level=u(rng, 0.3, 1.5), membrane=u(rng, 0, 0.5), white=np.clip(rng.uniform(0.85, 1.0, 3), 0, 1),
                 photons=log_u(rng, 300, 3000), read_noise=u(rng, 0.003, 0.01),
                 jpeg=int(rng.integers(70, 96)) if rng.random() < 0.3 else 0,
                 h_vec=genc_render.jitter_vector(rng, genc_render.HEMATOXYLIN, 0.06), defocus=u(rng, 0, 1.5),
                 texture=u(rng, 0.15, 0.5), spots=u(rng, 0.3, 2.0))
        if style == "he":
            r.update(hema=u(rng, 0.4, 1.3), eosin=u(rng, 0.15, 0.7),
                     e_vec=genc_render.jitter_vector(rng, genc_render.EOSIN, 0.06))
        else:
            r.update(hema=u(rng, 0.25, 0.8), dab=u(rng, 0.5, 1.4), hema_stroma=u(rng, 0.05, 0.25),
                     dab_cyto=0.0 if nuclear_dab else u(rng, 0.2, 0.7), dab_membrane=u(rng, 0.1, 0.5),
                     dab_bg=u(rng, 0, 0.08), d_vec=genc_render.jitter_vector(rng, genc_render.DAB, 0.05))
    return r


def image_id(seed, index):
    return hashlib.sha256(("gen_c:%d:%d" % (seed, index)).encode()).hexdigest()


def generate(seed, index, style, min_side, max_side):
    """Returns (id, style, layout kind, variant, rgb uint8, labels int32, rgba?) of image `index`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    if style == "mixed":
        style = STYLES[rng.choice(len(STYLES), p=MIXED_WEIGHTS)]
    shape = image_shape(rng, min_side, max_side)
    kind, p = layout_params(rng, style, shape)
    nuclear_dab = style == "ihc" and rng.random() < 0.65  # else cytoplasmic/membranous DAB
    p["assign"] = assign_fn(style, rng, nuclear_dab)
    lay = genc_layout.build(rng, shape, p, channels=2, rim_width=u(rng, 1.0, 2.5))
    r = render_params(rng, style, p["pops"][0]["d"], nuclear_dab)
    rgb = genc_render.RENDERERS[style](rng, lay, r)
    return image_id(seed, index), style, kind, variant(style, r), rgb, lay.labels, rng.random() < 0.6


def variant(style, r):
    if style == "fluo":
        return "two-dye" if r["cyto_tint"] is not None else ("gray" if r["tint"].min() == 1 else "colour")
    if style == "bright":
        return r["mode"] if r["polarity"] > 0 else r["mode"] + "-inverted"
    if style == "ihc":
        return "nuclear-dab" if r["dab_cyto"] == 0 else "cytoplasmic-dab"
    return "jpeg" if r["jpeg"] else "plain"


def write_mask_png(path, mask):
    """8-bit gray PNG, filter 0, zlib level 1: ~7x faster than cv2.imwrite on sparse masks."""
    h, w = mask.shape
    raw = np.zeros((h, w + 1), np.uint8)
    raw[:, 1:] = mask

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


def write_sample(out, sample):
    sid, style, kind, var, rgb, labels, rgba = sample
    final = os.path.join(out, sid)
    tmp = final + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "images"))
    os.makedirs(os.path.join(tmp, "masks"))
    bgr = rgb[..., ::-1]
    if rgba:
        bgr = np.dstack([bgr, np.full(rgb.shape[:2], 255, np.uint8)])
    if not cv2.imwrite(os.path.join(tmp, "images", sid + ".png"), bgr):
        raise OSError("cannot write image of " + sid)
    n = int(labels.max())
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    mask = np.zeros(labels.shape, np.uint8)
    for k in range(1, n + 1):
        mask[:] = 0
        mask[labels == k] = 255
        write_mask_png(os.path.join(tmp, "masks", "%04d.png" % k), mask)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    mean_d = float(np.mean(np.sqrt(4 * areas / np.pi))) if n else 0.0
    return sid, style, n, mean_d, labels.shape[0], labels.shape[1], kind, var


def work(args):
    out, seed, index, style, lo, hi = args
    return write_sample(out, generate(seed, index, style, lo, hi))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--style", default="mixed", choices=STYLES + ("mixed",))
    ap.add_argument("--min-side", type=int, default=256)
    ap.add_argument("--max-side", type=int, default=512)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    a = ap.parse_args()
    if a.n < 1 or a.min_side < 64 or a.max_side < a.min_side:
        ap.error("need --n >= 1 and 64 <= --min-side <= --max-side")
    os.makedirs(a.out, exist_ok=True)
    start = time.time()
    tasks = [(a.out, a.seed, i, a.style, a.min_side, a.max_side) for i in range(a.n)]
    if a.jobs > 1:
        with Pool(a.jobs) as pool:
            rows = pool.map(work, tasks)
    else:
        rows = [work(t) for t in tasks]
    manifest = os.path.join(a.out, "manifest.csv")
    with open(manifest + ".tmp-%d" % os.getpid(), "w") as f:
        f.write("id,style,n_nuclei,mean_diameter_px,height,width,layout,variant\n")
        for r in rows:
            f.write("%s,%s,%d,%.2f,%d,%d,%s,%s\n" % r)
    os.replace(manifest + ".tmp-%d" % os.getpid(), manifest)
    styles = {s: sum(r[1] == s for r in rows) for s in STYLES}
    print("gen_c: %d images (%s), %d nuclei in %.1f s -> %s" % (
        len(rows), ", ".join("%s %d" % kv for kv in styles.items() if kv[1]), sum(r[2] for r in rows),
        time.time() - start, a.out))


if __name__ == "__main__":
    main()
