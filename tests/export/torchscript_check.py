"""Loads a TorchScript module written by nucseg_export in Python's torch and runs it.

Usage: torchscript_check.py MODEL INPUT.f32 N H W REFERENCE.f32
INPUT and REFERENCE are raw little-endian float32 arrays (N x 3 x H x W and N x C x H x W),
the reference being nucseg's own output on INPUT. Prints the module's
attributes, the output shape, max |output - reference|, max |reference|, the parameter count
and the error text a wrongly shaped input raises, one "name<TAB>value" line each.
"""
import sys

import numpy as np
import torch

model_path, input_path, n, h, w, reference_path = sys.argv[1:7]
n, h, w = int(n), int(h), int(w)
model = torch.jit.load(model_path)
model.eval()
x = torch.from_numpy(np.fromfile(input_path, dtype="<f4").reshape(n, 3, h, w))
with torch.no_grad():
    y = model(x).numpy()
ref = np.fromfile(reference_path, dtype="<f4").reshape(y.shape)
try:
    model(torch.zeros(1, 3, h + 1, w))
    shape_error = ""
except Exception as e:  # torch.jit.Error: the module's assert
    shape_error = str(e).strip().splitlines()[-1]
names = ["nucseg_version", "classes", "input_multiple", "channels", "normalize", "normalize_low",
         "normalize_high", "normalize_min", "normalize_max", "nucleus_diameter", "checkpoint_step",
         "model_hash"]
values = {k: getattr(model, k) for k in names}
values.update({
    "shape": "x".join(str(d) for d in y.shape),
    "max_abs_diff": repr(float(np.abs(y - ref).max())),
    "max_abs_ref": repr(float(np.abs(ref).max())),
    "parameters": sum(p.numel() for p in model.parameters()),
    "shape_error": shape_error,
})
for k, v in values.items():
    print(f"{k}\t{v}")
