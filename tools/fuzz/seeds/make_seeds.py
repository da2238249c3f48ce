#!/usr/bin/python3
"""Seed corpora of the nucseg fuzz harnesses: small valid files of every layout each reader
supports. Usage: /usr/bin/python3 make_seeds.py [out_dir] (default: the folder of this script).
Writes <out>/{image,tiff,mask,rle,config,roi}/. Needs numpy, tifffile, cv2 and PIL."""
import io
import os
import shutil
import struct
import sys

import cv2
import numpy as np
import tifffile
from PIL import Image

out = sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: make_seeds.py OUT_FOLDER   (e.g. build-fuzz/seeds)")
rng = np.random.default_rng(7)


def folder(name):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    return d


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def png(a):
    ok, b = cv2.imencode(".png", a)
    assert ok
    return b.tobytes()


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, format=fmt, **kw)
    return b.getvalue()


def tif(a, **kw):
    b = io.BytesIO()
    tifffile.imwrite(b, a, **kw)
    return b.getvalue()


def blobs(h, w, n, dtype=np.uint8):
    """A label image of n rectangles (values 1..n) on 0."""
    lab = np.zeros((h, w), dtype)
    for i in range(1, n + 1):
        y, x = rng.integers(0, h - 3), rng.integers(0, w - 3)
        lab[y:y + 3, x:x + 3] = i
    return lab


g8 = rng.integers(0, 256, (12, 16), dtype=np.uint8)
g16 = rng.integers(0, 4096, (12, 16), dtype=np.uint16)
rgb8 = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
rgb16 = rng.integers(0, 65536, (12, 16, 3), dtype=np.uint16)
rgba8 = rng.integers(0, 256, (12, 16, 4), dtype=np.uint8)

# --- image: PNG and JPEG (and one TIFF) through read_raw_image ---
d = folder("image")
put(d, "gray8.png", png(g8))
put(d, "gray16.png", png(g16))
put(d, "rgb8.png", png(rgb8))
put(d, "rgba8.png", png(rgba8))
put(d, "rgb16.png", png(rgb16))
put(d, "rgba16.png", png(rng.integers(0, 65536, (12, 16, 4), dtype=np.uint16)))
put(d, "ga8.png", pil_bytes(Image.fromarray(np.dstack([g8, g8]), "LA"), "PNG"))
put(d, "palette.png", pil_bytes(Image.fromarray(g8).convert("P"), "PNG"))
put(d, "bilevel.png", pil_bytes(Image.fromarray(g8 > 128), "PNG"))
put(d, "phys_um.png", pil_bytes(Image.fromarray(g8), "PNG", dpi=(25400 / 0.65, 25400 / 0.65)))
put(d, "gray.jpg", pil_bytes(Image.fromarray(g8), "JPEG", quality=80))
put(d, "rgb.jpg", pil_bytes(Image.fromarray(rgb8), "JPEG", quality=80))
put(d, "progressive.jpg", pil_bytes(Image.fromarray(rgb8), "JPEG", progressive=True))
put(d, "cmyk.jpg", pil_bytes(Image.fromarray(rgb8).convert("CMYK"), "JPEG"))
put(d, "gray8.tif", tif(g8))
put(d, "rgb16_planar.tif", tif(np.moveaxis(rgb16, 2, 0), planarconfig="separate", photometric="rgb"))

# --- tiff: every layout tiff_decoder.cpp handles ---
d = folder("tiff")
put(d, "gray8_strips.tif", tif(g8, rowsperstrip=3))
put(d, "gray16_strips.tif", tif(g16, rowsperstrip=5))
put(d, "gray16_be.tif", tif(g16.astype(">u2"), byteorder=">"))
put(d, "rgb8_contig.tif", tif(rgb8, photometric="rgb", rowsperstrip=4))
put(d, "rgb16_planar.tif", tif(np.moveaxis(rgb16, 2, 0), planarconfig="separate", photometric="rgb", rowsperstrip=4))
put(d, "rgba8_alpha.tif", tif(rgba8, photometric="rgb", extrasamples=["unassalpha"]))
put(d, "five_samples.tif", tif(rng.integers(0, 256, (12, 16, 5), dtype=np.uint8), photometric="minisblack",
                                planarconfig="contig"))
put(d, "tiled8.tif", tif(rng.integers(0, 256, (40, 36), dtype=np.uint8), tile=(16, 16)))
put(d, "tiled16_rgb.tif", tif(rng.integers(0, 65536, (20, 18, 3), dtype=np.uint16), tile=(16, 16), photometric="rgb"))
put(d, "tiled_planar.tif", tif(rng.integers(0, 256, (3, 20, 18), dtype=np.uint8), tile=(16, 16),
                               planarconfig="separate", photometric="rgb"))
put(d, "pages3.tif", tif(rng.integers(0, 256, (3, 12, 16), dtype=np.uint8), photometric="minisblack"))
b = io.BytesIO()
with tifffile.TiffWriter(b) as w:  # a full page, then a reduced-resolution one (skipped)
    w.write(g8, photometric="minisblack")
    w.write(g8[::2, ::2], photometric="minisblack", subfiletype=1)
put(d, "with_thumbnail.tif", b.getvalue())
f32 = rng.normal(0, 1, (12, 16)).astype(np.float32)
f32[0, 0], f32[0, 1], f32[0, 2] = np.nan, np.inf, -np.finfo(np.float32).max
put(d, "float32.tif", tif(f32))
put(d, "float32_rgb_planar.tif", tif(rng.random((3, 12, 16), dtype=np.float32), planarconfig="separate",
                                     photometric="rgb"))
put(d, "int32_labels.tif", tif(blobs(12, 16, 5, np.int32)))
put(d, "uint32_labels.tif", tif(blobs(12, 16, 5, np.uint32)))
put(d, "bigtiff.tif", tif(g16, bigtiff=True))
put(d, "bigtiff_tiled.tif", tif(rng.integers(0, 256, (20, 18), dtype=np.uint8), bigtiff=True, tile=(16, 16)))
put(d, "miniswhite.tif", tif(g8, photometric="miniswhite"))
put(d, "deflate.tif", tif(g16, compression="zlib"))
try:
    put(d, "lzma.tif", tif(g8, compression="lzma"))
except Exception as e:  # tifffile without the codec
    print("no lzma seed:", e)
put(d, "imagej.tif", tif(g16, imagej=True, resolution=(1 / 0.5, 1 / 0.5), metadata={"unit": "um"}))
put(d, "ome.tif", tif(g8, ome=True, metadata={"PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3}))
put(d, "resolution_cm.tif", tif(g8, resolution=(20000, 20000), resolutionunit="CENTIMETER"))
im = Image.fromarray(rgb8)
put(d, "lzw_pil.tif", pil_bytes(im, "TIFF", compression="tiff_lzw"))
put(d, "packbits_pil.tif", pil_bytes(im, "TIFF", compression="packbits"))
put(d, "jpeg_ycbcr_pil.tif", pil_bytes(Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)), "TIFF",
                                       compression="jpeg"))
put(d, "palette_pil.tif", pil_bytes(Image.fromarray(g8).convert("P"), "TIFF"))
put(d, "bilevel_g4_pil.tif", pil_bytes(Image.fromarray(g8 > 128), "TIFF", compression="group4"))
put(d, "bilevel_pil.tif", pil_bytes(Image.fromarray(g8 > 128), "TIFF"))
put(d, "cmyk_pil.tif", pil_bytes(im.convert("CMYK"), "TIFF"))


def raw_tiff(width, height, tags, data):
    """A classic little-endian TIFF: header, `data` at offset 8, one directory after it.
    `tags`: (tag, type, values); StripOffsets (273) may be given as None (the data's offset)."""
    dir_at = 8 + len(data) + (len(data) & 1)
    entries = [(256, 4, [width]), (257, 4, [height])] + list(tags)
    entries.sort(key=lambda e: e[0])
    sizes = {1: 1, 3: 2, 4: 4, 5: 8}
    fmt = {1: "B", 3: "H", 4: "I"}
    blob = b""
    extra_at = dir_at + 2 + 12 * len(entries) + 4
    extra = b""
    for tag, typ, vals in entries:
        if vals is None:
            vals = [8]
        if typ == 5:
            payload = b"".join(struct.pack("<II", *v) for v in vals)
        else:
            payload = struct.pack("<%d%s" % (len(vals), fmt[typ]), *vals)
        if len(payload) <= 4:
            field = payload.ljust(4, b"\0")
        else:
            field = struct.pack("<I", extra_at + len(extra))
            extra += payload + (b"\0" if len(payload) & 1 else b"")
        blob += struct.pack("<HHI", tag, typ, len(vals)) + field
    head = b"II*\0" + struct.pack("<I", dir_at)
    return head + data + b"\0" * (dir_at - 8 - len(data)) + struct.pack("<H", len(entries)) + blob + b"\0\0\0\0" + extra


packed = bytes(((int(a) >> 4) << 4) | (int(b) >> 4) for a, b in zip(g8.ravel()[0::2], g8.ravel()[1::2]))
put(d, "gray4bit.tif", raw_tiff(16, 12, [(258, 3, [4]), (259, 3, [1]), (262, 3, [1]), (273, 4, None),
                                         (277, 3, [1]), (278, 4, [12]), (279, 4, [len(packed)])], packed))

# --- mask: annotation masks, read as labels ---
d = folder("mask")
put(d, "labels8.png", png(blobs(12, 16, 6)))
put(d, "labels16.png", png(blobs(12, 16, 6, np.uint16) * 300))
put(d, "binary.png", png((blobs(12, 16, 4) > 0).astype(np.uint8) * 255))
colour = np.zeros((12, 16, 3), np.uint8)
lab = blobs(12, 16, 4)
for i, c in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)], 1):
    colour[lab == i] = c
put(d, "colour_labels.png", png(colour))
put(d, "rgba_const_alpha.png", png(np.dstack([colour, np.full((12, 16), 255, np.uint8)])))
put(d, "gray3.png", png(np.dstack([lab, lab, lab])))
put(d, "labels16.tif", tif(blobs(12, 16, 6, np.uint16) * 1000, compression="zlib"))
put(d, "labels32.tif", tif(blobs(12, 16, 6, np.uint32) + np.uint32(70000) * (blobs(12, 16, 6, np.uint32) > 0)))
put(d, "labels_int32.tif", tif(blobs(12, 16, 6, np.int32)))
put(d, "binary.jpg", pil_bytes(Image.fromarray((lab > 0).astype(np.uint8) * 255), "JPEG"))

# --- rle: Kaggle DSB 2018 truth files ---
d = folder("rle")
put(d, "train_labels.csv", b"ImageId,EncodedPixels\r\nimg1,1 3 10 2\r\nimg1,20 4\r\nimg2,5 5\r\n")
put(d, "solution.csv", b"ImageId,EncodedPixels,Height,Width,Usage\n"
                       b"a,1 2 7 3,8,8,Public\na,30 2,8,8,Public\nb,1 1,4,5,Private\nc,1 1,4,4,Ignored\n")
put(d, "quoted_bom.csv", b'\xef\xbb\xbf"ImageId","EncodedPixels"\n"x,y","3 1 9 9"\n"x,y",""\n')
put(d, "solution_reordered.csv", b"Usage,Width,Height,EncodedPixels,ImageId\nPublic,6,5,1 30,q\n")

# --- config: the repository's configurations and a few variants ---
d = folder("config")
src = os.environ.get("NUCSEG_SRC", os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")))
for n in sorted(os.listdir(os.path.join(src, "configs"))):
    if n.endswith(".toml"):
        shutil.copy(os.path.join(src, "configs", n), os.path.join(d, n))
put(d, "channels_durations.toml", b'[data]\nchannels = [2, 0, 1]\nnormalize = "fixed"\nnormalize_min = 10\n'
                                  b'normalize_max = 4000.5\n[train]\ntime_limit = "1h30m"\n[infer]\ndiameter = "auto"\n'
                                  b'channels = ""\n')
put(d, "overrides.toml", b'[pack]\nseed = 3\n\n#--set\ndata.channels=[1]\ntrain.time_limit=01:50:00\n'
                         b'infer.diameter=auto\nlog.level=debug\ntrain.class_weights=[1, 2.5, 3]\n')
put(d, "inline_tables.toml", b'log = { level = "warn" }\nsynth.count = 7\n[segment]\n')

# --- roi: records [name length][name][vertex count][x y big-endian uint16 ...] ---
d = folder("roi")
def record(name, pts):
    return bytes([len(name)]) + name + bytes([len(pts)]) + b"".join(struct.pack(">HH", x, y) for x, y in pts)
put(d, "squares.bin", record(b"0001", [(10, 20), (13, 20), (13, 22), (10, 22)]) +
    record(b"0002", [(0, 0), (5, 0), (5, 5)]))
put(d, "far.bin", record(b"far", [(59990, 59990), (60000, 59990), (60000, 60000)]))
put(d, "wide.bin", record(b"w", [(0, 0), (40000, 0), (40000, 3)]))
print("seeds written to", out)
