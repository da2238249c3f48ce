"""tools/gpu/compare_labels.py on generated segmentation files: renumbered instances agree,
changed pixels count against the bar, different image sets fail."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

script = sys.argv[1]
failures = []


def write(path, images):
    with h5py.File(path, "w") as f:
        for name, labels in images.items():
            g = f.create_group("images/" + name)
            g["labels"] = labels.astype(np.uint16)
            g["class_map"] = (labels > 0).astype(np.uint8)


def run(a, b, minimum):
    p = subprocess.run([sys.executable, script, a, b, "--min", str(minimum)], capture_output=True, text=True)
    return p.returncode, p.stdout


def check(condition, what):
    if not condition:
        failures.append(what)


rng = np.random.default_rng(7)
labels = np.zeros((100, 100), np.int64)
for k in range(1, 21):  # 20 square nuclei of 4x4 to 10x10 pixels
    r, c, s = rng.integers(0, 90), rng.integers(0, 90), rng.integers(4, 11)
    labels[r:r + s, c:c + s] = k
other = np.zeros((40, 60), np.int64)
other[5:20, 5:25] = 1
with tempfile.TemporaryDirectory() as d:
    a, same, renumbered, changed, fewer = (os.path.join(d, n + ".h5") for n in ("a", "s", "r", "c", "f"))
    write(a, {"img1": labels, "img2": other})
    write(same, {"img1": labels, "img2": other})
    perm = np.r_[0, rng.permutation(np.arange(1, 21)) + 100]
    write(renumbered, {"img1": perm[labels], "img2": other * 5})
    flipped = labels.copy().ravel()
    idx = rng.choice(flipped.size, 250, replace=False)  # 250 of 12400 pixels: 98.0% agree
    flipped[idx] = np.where(flipped[idx] == 0, 21, 0)
    write(changed, {"img1": flipped.reshape(labels.shape), "img2": other})
    write(fewer, {"img1": labels})

    rc, out = run(a, same, 0.995)
    check(rc == 0 and "agree on 1.00000" in out, "identical files: all pixels agree, exit 0: " + out)
    rc, out = run(a, renumbered, 0.995)
    check(rc == 0 and "agree on 1.00000" in out, "renumbered instances still agree: " + out)
    rc, out = run(a, changed, 0.995)
    check(rc == 1 and "agree on 0.979" in out and "BELOW" in out, "250 changed pixels: 0.9798 < 0.995, exit 1: " + out)
    rc, out = run(a, changed, 0.97)
    check(rc == 0, "the same above a 0.97 bar: exit 0: " + out)
    rc, out = run(a, fewer, 0.5)
    check(rc == 1 and "different images" in out, "different image sets fail: " + out)

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
