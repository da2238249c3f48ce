"""Image formation for gen_c.py: turns a Layout into an 8-bit RGB image of one style.

fluo   emission adds up: nuclei + out-of-focus haze + autofluorescent cytoplasm + background,
       times the excitation profile, Poisson photon noise + Gaussian read noise.
bright transmitted light, unstained: an optical-path map through a phase-contrast-like
       response (dark object, bright halo, shade-off) or plain absorption.
he     Beer-Lambert: optical density = hematoxylin x its colour vector + eosin x its vector.
ihc    Beer-Lambert with hematoxylin (all nuclei, light) and DAB (positive nuclei, membranes).
Every style: defocus blur, vignetting / illumination gradient, photon + read noise.
"""
import cv2
import numpy as np

from genc_layout import smooth_noise

# Ruifrok & Johnston colour deconvolution vectors (optical density per R, G, B).
HEMATOXYLIN = np.array([0.650, 0.704, 0.286])
EOSIN = np.array([0.072, 0.990, 0.105])
DAB = np.array([0.268, 0.570, 0.776])


def blur(img, sigma):
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0.25 else img


def jitter_vector(rng, v, amount):
    v = np.clip(v + rng.normal(0.0, amount, 3), 0.02, None)
    return v / np.linalg.norm(v)


def illumination(rng, shape, vignette, gradient):
    """Multiplicative field, 1 at its brightest: radial fall-off plus a linear tilt."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (0.25 * (h * h + w * w))
    a = rng.uniform(0, 2 * np.pi)
    tilt = ((yy / h - 0.5) * np.sin(a) + (xx / w - 0.5) * np.cos(a)) * gradient
    f = (1.0 - vignette * r2) * (1.0 + tilt)
    return (f / f.max()).astype(np.float32)


def chromatin(rng, lay, d_mean, strength, spot_rate):
    """Multiplicative texture over nuclei: coarse + fine chromatin, bright spots, dark nucleoli."""
    shape = lay.labels.shape
    t = 0.65 * smooth_noise(rng, shape, max(1.0, d_mean / 7)) + 0.35 * smooth_noise(rng, shape, max(0.7, d_mean / 18))
    tex = 1.0 + strength * t
    bright = np.zeros(shape, np.float32)
    dark = np.zeros(shape, np.float32)
    h, w = shape
    for j in lay.kept:
        n = lay.nuclei[j]
        for _ in range(rng.poisson(spot_rate * n.radius / 6)):
            rho, phi = n.radius * 0.6 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
            y, x = int(n.cy + rho * np.sin(phi)), int(n.cx + rho * np.cos(phi))
            if 0 <= y < h and 0 <= x < w:
                (bright if rng.random() < 0.6 else dark)[y, x] += rng.uniform(0.5, 1.5)
    sigma = max(0.8, d_mean / 14)
    spots = blur(bright, sigma) - blur(dark, 1.5 * sigma)
    spots *= 2 * np.pi * sigma * sigma * 0.7
    return np.clip(tex + spots, 0.1, None).astype(np.float32)


def cytoplasm(rng, lay, reach):
    """Cell bodies: each pixel belongs to its nearest nucleus out to `reach` radii (soft edge)."""
    if not lay.nuclei:
        return np.zeros(lay.labels.shape, np.float32)
    wobble = 1.0 + 0.25 * smooth_noise(rng, lay.labels.shape, 12.0)
    cyto = np.clip((reach * wobble - lay.centre_dist) / 0.4, 0.0, 1.0)
    return blur(cyto.astype(np.float32), 1.0)


def membranes(lay, width=1.0):
    """Thin lines where the nearest nucleus changes (cell boundaries of a packed tissue)."""
    o = lay.owner
    edge = np.zeros(o.shape, np.float32)
    edge[:, 1:] += o[:, 1:] != o[:, :-1]
    edge[1:, :] += o[1:, :] != o[:-1, :]
    return blur(np.minimum(edge, 1.0), width)


def fibres(rng, shape, length):
    """Oriented stroma texture: anisotropic noise, rotated to a random direction."""
    h, w = shape
    side = int(np.ceil(np.hypot(h, w))) + 4
    n = rng.standard_normal((side, side)).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigmaX=length, sigmaY=1.2)
    m = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(0, 180), 1.0)
    n = cv2.warpAffine(n, m, (side, side), borderMode=cv2.BORDER_REFLECT)
    y0, x0 = (side - h) // 2, (side - w) // 2
    n = n[y0:y0 + h, x0:x0 + w]
    return (n - n.mean()) / (n.std() + 1e-6)


def camera(rng, signal, photons, read_noise):
    """Poisson photon noise at `photons` per unit signal plus Gaussian read noise (same units)."""
    counts = rng.poisson(np.clip(signal, 0, None) * photons).astype(np.float32)
    return counts / photons + rng.normal(0.0, read_noise, signal.shape).astype(np.float32)


def to_uint8(rgb):
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def render_fluo(rng, lay, r):
    shape = lay.labels.shape
    nuc = lay.fields[0] * chromatin(rng, lay, r["d_mean"], r["texture"], r["spots"])
    nuc = blur(nuc, r["defocus"])
    haze = blur(lay.fields[0], r["haze_sigma"]) * r["haze"]
    cyto = cytoplasm(rng, lay, r["cell_reach"]) * r["cyto"] * (1 + 0.3 * smooth_noise(rng, shape, 3.0))
    bg = r["background"] * (1 + 0.2 * smooth_noise(rng, shape, 40.0))
    ill = illumination(rng, shape, r["vignette"], r["gradient"])
    signal = ill * (nuc + haze + np.clip(cyto, 0, None)) + bg
    img = camera(rng, signal, r["photons"], r["read_noise"])
    img = img / (np.percentile(img, 99.7) * r["headroom"]) - r["offset"]
    img = np.clip(img, 0, 1) ** r["gamma"]
    tint = r["tint"]
    if r["cyto_tint"] is None:
        rgb = img[..., None] * tint
    else:  # two dyes: nuclei in one colour, the cytoplasm haze in another
        c = np.clip(blur(cyto, 1.0) * ill / (r["cyto"] + 1e-6), 0, 1) * r["cyto_colour_level"]
        rgb = img[..., None] * tint + c[..., None] * r["cyto_tint"]
    return to_uint8(rgb)


def render_bright(rng, lay, r):
    shape = lay.labels.shape
    opd = lay.fields[0] * chromatin(rng, lay, r["d_mean"], r["texture"], r["spots"])
    opd = opd + r["cyto"] * cytoplasm(rng, lay, r["cell_reach"]) * (1 + 0.4 * smooth_noise(rng, shape, 4.0))
    sharp = blur(opd, 0.7 + r["defocus"])
    if r["mode"] == "phase":
        halo = blur(opd, r["halo_sigma"]) - sharp
        shade = blur(opd, r["shade_sigma"])
        resp = -r["contrast"] * (sharp - r["shade_off"] * shade) + r["halo"] * halo
        resp = r["polarity"] * resp
    else:
        resp = -r["contrast"] * sharp
    ill = illumination(rng, shape, r["vignette"], r["gradient"])
    signal = ill * r["level"] * (1.0 + resp) * (1 + 0.03 * smooth_noise(rng, shape, 30.0))
    img = camera(rng, signal, r["photons"], r["read_noise"])
    return to_uint8(np.clip(img, 0, 1)[..., None] * r["tint"])


def absorb(rng, r, ods, shape):
    """Beer-Lambert: sum of stain amounts x colour vectors -> transmitted RGB with noise."""
    od = np.zeros(shape + (3,), np.float32)
    for amount, vec in ods:
        od += amount[..., None] * vec.astype(np.float32)
    od = blur(od, r["defocus"])
    ill = illumination(rng, shape, r["vignette"], r["gradient"])
    rgb = ill[..., None] * r["white"] * np.exp(-od)
    rgb = camera(rng, rgb, r["photons"], r["read_noise"])
    out = to_uint8(rgb)
    if r["jpeg"]:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, r["jpeg"]])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return out


def tissue_eosin(rng, lay, r):
    """Eosin: cytoplasm of cells, stroma fibres, minus white spaces (lumina, fat, tears)."""
    shape = lay.labels.shape
    cyto = cytoplasm(rng, lay, r["cell_reach"])
    wavy = 0.6 * fibres(rng, shape, r["fibre_len"]) + 0.4 * smooth_noise(rng, shape, 2.5)
    stroma = np.clip(0.55 + 0.25 * wavy, 0, None)
    tissue = np.clip((smooth_noise(rng, shape, r["space_scale"]) + r["tissue_level"]) / 0.3, 0, 1)
    tissue = np.maximum(tissue, np.clip(lay.support * 2, 0, 1))  # nuclei sit in tissue
    e = (cyto * (1 - r["membrane"] * membranes(lay)) + (1 - cyto) * stroma) * tissue
    return e * (1 + 0.2 * smooth_noise(rng, shape, 2.0)), tissue


def render_he(rng, lay, r):
    shape = lay.labels.shape
    tex = chromatin(rng, lay, r["d_mean"], r["texture"], r["spots"])
    hema = r["hema"] * (lay.fields[0] * tex + r["rim"] * lay.rim)
    e, tissue = tissue_eosin(rng, lay, r)
    hema = hema + r["hema_bg"] * tissue
    return absorb(rng, r, [(hema, r["h_vec"]), (r["eosin"] * e, r["e_vec"])], shape)


def render_ihc(rng, lay, r):
    """Nuclear DAB (a fraction of nuclei brown) or cytoplasmic/membranous DAB in the dense
    epithelial nests with blue nuclei inside, over pale blue stroma."""
    shape = lay.labels.shape
    tex = chromatin(rng, lay, r["d_mean"], r["texture"], r["spots"])
    hema = r["hema"] * ((lay.fields[0] + 0.35 * lay.fields[1]) * tex + r["rim"] * lay.rim)
    e, tissue = tissue_eosin(rng, lay, r)
    nests = blur(np.clip((lay.info["density"] - 0.5) / 0.25, 0, 1).astype(np.float32), 3.0)
    hema = hema + r["hema_bg"] * tissue + r["hema_stroma"] * e * (1 - nests)
    dab = r["dab"] * lay.fields[1] * (0.6 + 0.4 * tex)
    if r["dab_cyto"] > 0:
        cyto = cytoplasm(rng, lay, r["cell_reach"]) * (1 - 0.85 * lay.support)
        grain = np.clip(1 + 0.35 * smooth_noise(rng, shape, 1.5), 0, None)
        dab = dab + nests * (r["dab_cyto"] * cyto * grain + r["dab_membrane"] * membranes(lay, 1.0))
    dab = dab + r["dab_bg"] * tissue * np.clip(1 + 0.5 * smooth_noise(rng, shape, 20.0), 0, None)
    return absorb(rng, r, [(hema, r["h_vec"]), (dab, r["d_vec"])], shape)


RENDERERS = {"fluo": render_fluo, "bright": render_bright, "he": render_he, "ihc": render_ihc}
