"""Nucleus layouts for gen_c.py: where nuclei sit, their outlines, and the instance label map.

Written for the cross-check generator only (independent of src/synth). A nucleus is a
star-convex Fourier contour r(t) = R (1 + e cos 2(t - a) + sum_k a_k cos(k t + p_k)) around
its centre. Nuclei are painted in placement order: where two overlap, the later one owns the
pixels (it lies on top), and the fix-up step makes every instance one 4-connected region.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage as ndi

# Objects smaller than this (pixels) are not annotated as nuclei of their own.
MIN_AREA = 10


@dataclass
class Nucleus:
    cy: float
    cx: float
    radius: float  # mean radius R of the contour, pixels
    elong: float  # amplitude of the 2nd harmonic (elongation)
    angle: float  # orientation of the long axis, radians
    harm: np.ndarray  # (K, 2): amplitude and phase of harmonics 3..K+2 (irregularity)
    amp: float = 1.0  # stain / brightness amount, style-specific meaning
    dome: float = 0.3  # 0: flat profile, larger: brighter centre
    channel: int = 0  # which density field the nucleus paints (e.g. IHC DAB-positive = 1)

    def outline(self, theta):
        r = 1.0 + self.elong * np.cos(2.0 * (theta - self.angle))
        for k, (a, p) in enumerate(self.harm, start=3):
            r = r + a * np.cos(k * theta + p)
        return self.radius * np.maximum(r, 0.35)

    def reach(self):
        return self.radius * (1.0 + self.elong + float(np.abs(self.harm[:, 0]).sum())) + 2.0


@dataclass
class Layout:
    nuclei: list  # every placed nucleus (owner indexes this list)
    kept: np.ndarray  # nuclei[kept[j]] is the nucleus of label j + 1
    labels: np.ndarray  # int32, 0 background, 1..N in painting order (after fix-up)
    fields: np.ndarray  # (C, H, W) float32: sum of amp * profile per density channel
    rim: np.ndarray  # (H, W) float32: thin band inside each contour (nuclear envelope)
    support: np.ndarray  # (H, W) float32 in [0, 1]: anti-aliased union of all nuclei
    owner: np.ndarray  # (H, W) int32: index into nuclei of the nearest centre (Voronoi)
    centre_dist: np.ndarray  # (H, W) float32: distance to that centre, in its radii
    info: dict = field(default_factory=dict)


def smooth_noise(rng, shape, sigma):
    """Zero-mean, unit-variance Gaussian random field with correlation length ~sigma pixels."""
    h, w = shape
    step = max(1, int(sigma / 3))  # draw coarse and upsample: large sigmas stay cheap
    small = rng.standard_normal((h // step + 2, w // step + 2)).astype(np.float32)
    s = sigma / step
    if s > 0.3:
        small = cv2.GaussianBlur(small, (0, 0), s, borderType=cv2.BORDER_REFLECT)
    out = cv2.resize(small, (w + 2 * step, h + 2 * step), interpolation=cv2.INTER_LINEAR)[step:step + h, step:step + w]
    out -= out.mean()
    return out / (out.std() + 1e-6)


def draw_radius(rng, pop):
    d = pop["d"] * float(np.exp(rng.normal(0.0, pop["jitter"])))
    return min(max(d, 5.0), 45.0) / 2.0


def make_nucleus(rng, cy, cx, radius, irregular, elong_max, angle=None):
    k = rng.integers(2, 6)
    amps = irregular * rng.uniform(0.0, 1.0, k) / np.arange(3, 3 + k) ** 1.2
    harm = np.stack([amps, rng.uniform(0, 2 * np.pi, k)], axis=1)
    elong = rng.uniform(0.0, elong_max) if rng.random() < 0.85 else rng.uniform(0.0, 0.08)
    if angle is None:
        angle = rng.uniform(0, np.pi)
    return Nucleus(cy, cx, radius, elong, angle, harm)


def place(rng, shape, p):
    """Dart throwing over an acceptance-density map, with a pairwise spacing rule.

    p: cover (target nucleus area fraction), sep (min centre distance in units of r_i + r_j;
    below 1 nuclei overlap), pops (size populations), density (H, W map in [0, 1]),
    flow (H, W angles or None: elongated nuclei align with it), irregular, elong_max, max_n.
    """
    h, w = shape
    target = p["cover"] * h * w
    cy, cx, rr = (np.zeros(p["max_n"]) for _ in range(3))
    nuclei, area, fails = [], 0.0, 0
    weights = np.array([q["frac"] for q in p["pops"]])
    while area < target and len(nuclei) < p["max_n"] and fails < 600:
        y, x = rng.uniform(-4, h + 4), rng.uniform(-4, w + 4)
        yi, xi = min(max(int(y), 0), h - 1), min(max(int(x), 0), w - 1)
        if rng.random() > p["density"][yi, xi]:
            fails += 1
            continue
        r = draw_radius(rng, p["pops"][rng.choice(len(weights), p=weights / weights.sum())])
        m = len(nuclei)
        if m:
            d = np.hypot(cy[:m] - y, cx[:m] - x)
            if np.any(d < p["sep"] * (rr[:m] + r)):
                fails += 1
                continue
        fails = 0
        angle, elong_max = None, p["elong_max"]
        if p["flow"] is not None:  # tissue: stromal nuclei (low density) long and aligned
            angle = float(p["flow"][yi, xi])
            elong_max *= 0.3 + 1.4 * (1.0 - p["density"][yi, xi])
            r *= 1.0 - 0.25 * (1.0 - p["density"][yi, xi])
        cy[m], cx[m], rr[m] = y, x, r
        nuclei.append(make_nucleus(rng, y, x, r, p["irregular"], elong_max, angle))
        area += np.pi * r * r
    return nuclei


def rasterize(nuclei, shape, channels, rim_width):
    """Paints labels (later on top), density fields, rim band and anti-aliased support."""
    h, w = shape
    labels = np.zeros(shape, np.int32)
    fields = np.zeros((channels, h, w), np.float32)
    rim = np.zeros(shape, np.float32)
    support = np.zeros(shape, np.float32)
    for i, n in enumerate(nuclei, start=1):
        reach = n.reach()
        y0, y1 = max(0, int(n.cy - reach)), min(h, int(n.cy + reach) + 2)
        x0, x1 = max(0, int(n.cx - reach)), min(w, int(n.cx + reach) + 2)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - n.cy, xx - n.cx
        dist = np.hypot(dy, dx)
        rt = n.outline(np.arctan2(dy, dx)).astype(np.float32)
        inside = dist <= rt
        if not inside.any():
            continue
        labels[y0:y1, x0:x1][inside] = i
        depth = rt - dist  # pixels inside the contour
        edge = np.clip(depth + 0.5, 0.0, 1.0)
        s = np.clip(dist / rt, 0.0, 1.0)
        profile = edge * ((1.0 - n.dome) + n.dome * np.sqrt(1.0 - s * s))
        fields[n.channel, y0:y1, x0:x1] += n.amp * profile
        rim[y0:y1, x0:x1] += edge * np.exp(-np.maximum(depth, 0.0) / rim_width)
        sup = support[y0:y1, x0:x1]
        np.maximum(sup, edge, out=sup)
    return labels, fields, rim, support


def _reassign_pieces(labels, strict):
    """One pass; returns whether anything changed. strict: pieces go to background."""
    cross = ndi.generate_binary_structure(2, 1)
    changed = False
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        sl = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in sl)
        crop = labels[sl]
        comp, n = ndi.label(crop == k, cross)
        sizes = np.bincount(comp.ravel())[1:]
        keep = int(np.argmax(sizes)) + 1
        for c in range(1, n + 1):
            if c == keep and sizes[c - 1] >= MIN_AREA:
                continue
            piece = comp == c
            neigh = crop[ndi.binary_dilation(piece, cross) & ~piece]
            neigh = neigh[(neigh > 0) & (neigh != k)]
            crop[piece] = np.bincount(neigh).argmax() if neigh.size and not strict else 0
            changed = True
    return changed


def fix_labels(labels):
    """Makes every instance one 4-connected region of at least MIN_AREA pixels.

    Pieces cut off by a nucleus on top, and instances too small to annotate, go to the
    touching neighbour with the longest contact (background when none touches), so the union
    of the labels stays the painted support. Returns labels renumbered 1..N in painting order.
    """
    for _ in range(6):
        if not _reassign_pieces(labels, strict=False):
            break
    _reassign_pieces(labels, strict=True)  # rare leftovers of chains of moves
    ids = np.unique(labels)
    ids = ids[ids > 0]
    lut = np.zeros(labels.max() + 1, np.int32)
    lut[ids] = np.arange(1, len(ids) + 1)
    return lut[labels], ids - 1


def voronoi(nuclei, shape):
    """Nearest nucleus centre per pixel and the distance to it in units of that radius."""
    h, w = shape
    seeds = np.ones(shape, bool)
    index = np.full(shape, -1, np.int32)
    for i, n in enumerate(nuclei):
        y, x = int(np.clip(round(n.cy), 0, h - 1)), int(np.clip(round(n.cx), 0, w - 1))
        seeds[y, x] = False
        index[y, x] = i
    if seeds.all():
        return np.zeros(shape, np.int32), np.full(shape, 1e3, np.float32)
    dist, (iy, ix) = ndi.distance_transform_edt(seeds, return_indices=True)
    owner = index[iy, ix]
    radii = np.array([n.radius for n in nuclei], np.float32)
    return owner, (dist / radii[owner]).astype(np.float32)


def build(rng, shape, p, channels=1, rim_width=1.5):
    nuclei = place(rng, shape, p)
    for n in nuclei:
        n.amp, n.dome, n.channel = p["assign"](rng, n)
    labels, fields, rim, support = rasterize(nuclei, shape, channels, rim_width)
    labels, kept = fix_labels(labels)
    owner, centre_dist = voronoi(nuclei, shape)
    return Layout(nuclei, kept, labels, fields, rim, support, owner, centre_dist,
                  {"placed": len(nuclei), "density": p["density"]})
