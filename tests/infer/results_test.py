#!/usr/bin/python3
"""The results as analysts' tools read them (docs/results.md), on real nucseg_infer outputs.

Inputs made here: synthetic images saved as a plain PNG, an ImageJ TIFF (0.5 um), an OME-TIFF
(0.325 um), a PNG with pHYs (0.65 um), a PNG whose name holds a comma, quotes and a non-ASCII
letter, and a broken file. Checks: h5py strings (attributes str, datasets UTF-8 through
.asstr()), objects.csv / images.csv read by pandas equal to segmentation.h5, pixel sizes and
_um columns, label PNG/TIFF exports (tifffile, imageio), ImageJ ROI zips read back by an
independent reader (zipfile + struct) and compared with the labels, the README one-liners and
the tested recipes of docs/results.md. Label shapes a network run does not give (holes,
diagonal contacts, more than 65535 nuclei) go through tests/infer/export_fixture.cpp.

Usage: results_test.py BIN_DIR MAKE_CHECKPOINT EXPORT_FIXTURE SOURCE_DIR
"""
import contextlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import types
import zipfile

import h5py
import imageio
import numpy as np
import pandas as pd
import tifffile
from matplotlib.path import Path
from PIL import Image
from scipy import ndimage
from skimage import draw

BIN, MAKE_CKPT, FIXTURE, SRC = sys.argv[1:5]
TMP = tempfile.mkdtemp(prefix="nucseg-results-")
ODD_NAME = 'Kern, "\u00e4" 1.png'  # a comma, quotes and a non-ASCII letter


def run(cmd, cwd=None, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, "exit %d: %s\n%s\n%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr)
    return p.stdout


def make_inputs():
    synth = os.path.join(TMP, "synth")
    run([os.path.join(BIN, "nucseg_synth"), "--set", "synth.output=" + synth, "--set", "synth.count=5",
         "--set", "synth.seed=11", "--set", "synth.min_side=96", "--set", "synth.max_side=128"])
    rgb = [imageio.imread(os.path.join(synth, d, "images", d + ".png"))[..., :3] for d in sorted(os.listdir(synth))]
    inputs = os.path.join(TMP, "inputs")
    os.makedirs(inputs)
    imageio.imwrite(os.path.join(inputs, "plain.png"), rgb[0])
    tifffile.imwrite(os.path.join(inputs, "ij.tif"), rgb[1], imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "um"})
    tifffile.imwrite(os.path.join(inputs, "ome.ome.tif"), rgb[2], ome=True, photometric="rgb",
                     metadata={"axes": "YXS", "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325})
    Image.fromarray(rgb[3]).save(os.path.join(inputs, "phys.png"), dpi=(25400 / 0.65, 25400 / 0.65))
    imageio.imwrite(os.path.join(inputs, ODD_NAME), rgb[4])
    with open(os.path.join(inputs, "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    return inputs


def infer(inputs, output, *settings):
    run([os.path.join(BIN, "nucseg_infer"), "--set", "infer.model=" + os.path.join(TMP, "best.pt"),
         "--set", "infer.input=" + inputs, "--set", "infer.output=" + output, "--set", "infer.tile=64",
         "--set", "infer.overlap=16", "--set", "infer.batch=2", "--set", "infer.threads=1",
         "--set", "segment.min_area=4", "--set", "segment.min_confidence=0",  # an untrained network's unsure objects
         "--set", "infer.max_failed_fraction=0.5"] + list(settings))


def column(d):
    return d.asstr()[:] if h5py.check_string_dtype(d.dtype) else d[:]


def check_strings(f):
    for k, v in f.attrs.items():
        assert not isinstance(v, bytes), (k, v)
    assert isinstance(f.attrs["checkpoint"], str)
    for group in ("index", "objects", "failures"):
        for k, d in f[group].items():
            info = h5py.check_string_dtype(d.dtype)
            if info is None:
                continue
            assert info.encoding == "utf-8" and info.length is None, (group, k, info)  # variable-length UTF-8
            values = d.asstr()[:]
            assert all(isinstance(v, str) for v in values), (group, k)
    sources = list(f["index/source_path"].asstr()[:])
    assert any(s.endswith(ODD_NAME) for s in sources), sources
    image = f["images"][f["index/image_id"].asstr()[0]]
    assert all(not isinstance(v, bytes) for v in image.attrs.values())


def check_csv(f, out):
    # round_trip: pandas' default parser may miss the last bit of a double; nucseg prints the
    # shortest text that reads back exactly.
    objects = pd.read_csv(os.path.join(out, "objects.csv"), float_precision="round_trip")
    h5 = pd.DataFrame({k: column(d) for k, d in f["objects"].items()})
    assert list(objects.columns[:2]) == ["image_id", "source_path"], objects.columns
    assert set(objects.columns[2:]) == set(h5.columns) - {"image_id"}, (objects.columns, h5.columns)
    assert len(objects) == len(h5) == f.attrs["n_objects"]
    assert list(objects.image_id) == list(h5.image_id)
    for k in objects.columns[2:]:
        np.testing.assert_array_equal(objects[k].to_numpy(float), h5[k].to_numpy(float), err_msg=k)  # NaN == NaN here
    index = pd.DataFrame({k: column(d) for k, d in f["index"].items()})
    source_of = dict(zip(index.image_id, index.source_path))
    assert list(objects.source_path) == [source_of[i] for i in objects.image_id]

    images = pd.read_csv(os.path.join(out, "images.csv"), keep_default_na=False, na_values=[""])
    assert len(images) == f.attrs["n_inputs"] == 6
    assert sorted(images.status) == ["failed"] + ["ok"] * 5, images.status
    failed = images[images.status == "failed"].iloc[0]
    assert failed.source_path.endswith("broken.png") and failed.reason == f["failures/reason"].asstr()[0]
    ok = images[images.status == "ok"].set_index("image_id")
    assert any(s.endswith(ODD_NAME) for s in ok.source_path), "a path with a comma and quotes read back"
    for i, row in index.iterrows():
        assert ok.loc[row.image_id, "n_objects"] == row.n_objects
        assert ok.loc[row.image_id, "source_path"] == row.source_path
        areas = h5[h5.image_id == row.image_id].area
        if len(areas):
            assert ok.loc[row.image_id, "area_median"] == areas.median()
            assert ok.loc[row.image_id, "area_max"] == areas.max()
    return ok


def check_pixel_sizes(f, ok):
    index = pd.DataFrame({k: column(d) for k, d in f["index"].items()}).set_index("image_id")
    want = {"plain": 0.0, "ij": 0.5, "ome.ome": 0.325, "phys": 0.65}
    for image_id, um in want.items():
        got = index.loc[image_id, "pixel_size_um"]
        assert abs(got - um) < 1e-5, (image_id, got, index.loc[image_id, "pixel_size_source"])
        assert abs(ok.loc[image_id, "pixel_size_um"] - um) < 1e-5 if um else np.isnan(ok.loc[image_id, "pixel_size_um"])
        assert f["images"][image_id].attrs["pixel_size_um"] == got
    assert index.loc["ij", "pixel_size_source"] == "TIFF XResolution, ImageJ unit um"
    assert index.loc["ome.ome", "pixel_size_source"] == "OME-XML PhysicalSizeX"
    assert index.loc["phys", "pixel_size_source"] == "PNG pHYs"
    assert index.loc["plain", "pixel_size_source"] == "none"
    objects = pd.DataFrame({k: column(d) for k, d in f["objects"].items()})
    for _, o in objects.iterrows():
        ps = index.loc[o.image_id, "pixel_size_um"]
        if ps > 0:
            assert abs(o.area_um2 - o.area * ps * ps) <= 1e-9 * o.area_um2 and o.perimeter_um == o.perimeter * ps
        else:
            assert np.isnan(o.area_um2) and np.isnan(o.equivalent_diameter_um)


def read_roi(b):
    """One ImageJ .roi (RoiDecoder.java): type, name and the polygon's absolute corners."""
    assert b[:4] == b"Iout", b[:4]
    version, roi_type = struct.unpack(">h", b[4:6])[0], b[6]
    top, left, bottom, right, n = struct.unpack(">hhhhH", b[8:18])
    header2 = struct.unpack(">i", b[60:64])[0]
    xs = struct.unpack(">%dh" % n, b[64:64 + 2 * n])
    ys = struct.unpack(">%dh" % n, b[64 + 2 * n:64 + 4 * n])
    name_at, name_len = struct.unpack(">ii", b[header2 + 16:header2 + 24])
    name = b[name_at:name_at + 2 * name_len].decode("utf-16-be")
    assert version >= 218 and header2 == 64 + 4 * n
    corners = [(left + x, top + y) for x, y in zip(xs, ys)]
    assert (min(c[0] for c in corners), min(c[1] for c in corners)) == (left, top)
    assert (max(c[0] for c in corners), max(c[1] for c in corners)) == (right, bottom)
    return roi_type, name, corners


def check_roi_zip(path, labels, every=1):
    """Each ROI encloses (pixel centres) exactly its label's pixels, holes filled."""
    z = zipfile.ZipFile(path)
    assert z.testzip() is None  # every CRC
    names = z.namelist()
    present = [v for v in np.unique(labels) if v != 0]
    assert names == ["%04d.roi" % v for v in present], (names[:5], present[:5])
    objects = ndimage.find_objects(labels)
    for name in names[::every]:
        roi_type, roi_name, corners = read_roi(z.read(name))
        label = int(roi_name)
        assert roi_type == 0 and name == roi_name + ".roi"
        rows, cols = objects[label - 1]
        mask = labels[rows, cols] == label
        parts, _ = ndimage.label(mask, structure=np.ones((3, 3)))
        first = np.argwhere(mask)[0]
        expected = ndimage.binary_fill_holes(parts == parts[tuple(first)])
        yy, xx = np.mgrid[rows, cols]
        inside = Path(corners).contains_points(np.c_[xx.ravel() + 0.5, yy.ravel() + 0.5]).reshape(mask.shape)
        assert (inside == expected).all(), (path, name, int(inside.sum()), int(expected.sum()))
    return len(names)


def check_exports(f, out, fmt):
    for image_id in f["index/image_id"].asstr()[:]:
        labels = f["images"][image_id]["labels"][:]
        path = os.path.join(out, "labels", image_id + "." + fmt)
        exported = imageio.imread(path) if fmt == "png" else tifffile.imread(path)
        assert exported.dtype == np.uint16 and (exported == labels).all(), (path, exported.dtype)
        assert check_roi_zip(os.path.join(out, "rois", image_id + ".zip"), labels) == f["images"][image_id].attrs["n_objects"]


class NapariStandIn(types.ModuleType):
    """Records what a recipe hands to napari (not a Debian package) instead of showing it."""

    def __init__(self):
        super().__init__("napari")
        self.calls = []
        standin = self

        class Viewer:
            def add_image(self, data, **kw):
                standin.calls.append(("image", data.shape, data.dtype, kw.get("scale")))

            def add_labels(self, data, **kw):
                standin.calls.append(("labels", data.shape, data.dtype, kw.get("scale")))

        self.Viewer = Viewer
        self.run = lambda: standin.calls.append(("run",))


def run_recipe(code):
    """Runs documented code as a user would, in TMP (where seg/ is the first output); returns
    what it printed."""
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(TMP)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "<recipe>", "exec"), {"__name__": "__main__"})
    finally:
        os.chdir(cwd)
    return printed.getvalue()


def check_documented_recipes():
    """README's one-liners and the recipes of docs/results.md marked <!-- tested -->."""
    readme = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    lines = re.findall(r'^python3 -c "(.*)"$', readme, re.M)
    assert len(lines) == 2, lines
    first_id = h5py.File(os.path.join(TMP, "seg", "segmentation.h5"), "r")["index/image_id"].asstr()[0]
    for code in lines:
        printed = run_recipe(code)
        assert "b'" not in printed and first_id in printed, printed
    napari = NapariStandIn()
    sys.modules["napari"] = napari
    doc = open(os.path.join(SRC, "docs", "results.md"), encoding="utf-8").read()
    recipes = re.findall(r"<!-- tested -->\n```python\n(.*?)```", doc, re.S)
    assert len(recipes) == 4, len(recipes)
    for code in recipes:
        printed = run_recipe(code)
        assert "b'" not in printed, printed
    assert [c[0] for c in napari.calls] == ["image", "labels", "run"], napari.calls
    image, labels = napari.calls[0], napari.calls[1]
    assert image[1][:2] == labels[1] and labels[2].kind == "u" and image[3] == labels[3], napari.calls


def check_fixture_shapes():
    """Holes, diagonal contacts, touching nuclei and the image edge; then > 65535 nuclei."""
    rng = np.random.default_rng(3)
    labels = np.zeros((150, 170), np.uint16)
    for i in range(1, 41):
        r, c = rng.integers(0, 150), rng.integers(0, 170)
        rr, cc = draw.ellipse(r, c, rng.integers(2, 12), rng.integers(2, 10), labels.shape, rotation=rng.uniform(0, 3))
        labels[rr, cc] = i
        if i % 6 == 0:
            labels[r, c] = 0  # a hole
    labels[5, 5] = labels[6, 6] = 41  # diagonal contact
    labels[0:3, 160:170] = 42  # at the edge
    shapes = os.path.join(TMP, "shapes.tif")
    tifffile.imwrite(shapes, labels)
    out = os.path.join(TMP, "fixture")
    png, rois = run([FIXTURE, shapes, out, "png"]).split()
    assert png.endswith("shapes.png") and (imageio.imread(png) == labels).all()
    assert check_roi_zip(rois, labels.astype(np.int32)) == len(np.unique(labels)) - 1

    many = np.zeros((800, 800), np.uint32)
    squares = np.arange(1, 266 * 266 + 1, dtype=np.uint32).reshape(266, 266)
    for dr in range(2):
        for dc in range(2):
            many[dr:798:3, dc:798:3] = squares
    path = os.path.join(TMP, "many.tif")
    tifffile.imwrite(path, many)
    tiff, rois = run([FIXTURE, path, out, "png", "0.25"]).split()
    assert tiff.endswith("many.tiff"), tiff  # PNG was asked for: labels past 65535 need 32 bits
    with tifffile.TiffFile(tiff) as t:
        back = t.asarray()
        assert back.dtype == np.uint32 and (back == many).all()
        assert t.imagej_metadata["unit"] == "micron"
        xres = t.pages[0].tags["XResolution"].value
        assert abs(xres[0] / xres[1] - 4.0) < 1e-6, xres
    assert check_roi_zip(rois, many.astype(np.int32), every=499) == 266 * 266


def main():
    import time
    t0 = time.time()
    lap = lambda what: print("%-12s %.1f s" % (what, time.time() - t0), flush=True)
    try:
        inputs = make_inputs()
        run([MAKE_CKPT, os.path.join(TMP, "best.pt")])
        seg = os.path.join(TMP, "seg")
        infer(inputs, seg, "--set", "infer.export_labels=png", "--set", "infer.export_rois=true")
        with h5py.File(os.path.join(seg, "segmentation.h5"), "r") as f:
            check_strings(f)
            ok = check_csv(f, seg)
            check_pixel_sizes(f, ok)
            check_exports(f, seg, "png")
        lap("first run")
        # Exports asked for later: the rerun skips every image and writes what is missing.
        rois_before = {p: os.stat(os.path.join(seg, "rois", p)).st_mtime_ns for p in os.listdir(os.path.join(seg, "rois"))}
        infer(inputs, seg, "--set", "infer.export_labels=tiff", "--set", "infer.export_rois=true")
        with h5py.File(os.path.join(seg, "segmentation.h5"), "r") as f:
            check_exports(f, seg, "tiff")
        assert rois_before == {p: os.stat(os.path.join(seg, "rois", p)).st_mtime_ns for p in rois_before}
        lap("export rerun")
        seg2 = os.path.join(TMP, "seg2")
        infer(inputs, seg2, "--set", "infer.pixel_size=0.2", "--set", "infer.export_labels=tiff",
              "--set", "infer.export_rois=true")
        with h5py.File(os.path.join(seg2, "segmentation.h5"), "r") as f:
            assert set(f["index/pixel_size_um"][:]) == {0.2}
            assert set(f["index/pixel_size_source"].asstr()[:]) == {"infer.pixel_size"}
            check_exports(f, seg2, "tiff")
            first = f["index/image_id"].asstr()[0]
        lap("second run")
        with tifffile.TiffFile(os.path.join(seg2, "labels", first + ".tiff")) as t:
            assert t.imagej_metadata["unit"] == "micron", t.imagej_metadata
        check_documented_recipes()
        lap("check_documented_recipes")
        check_fixture_shapes()
        lap("check_fixture_shapes")
        print("results ok")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
