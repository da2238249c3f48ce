#!/usr/bin/python3
"""Reference measurements for measure_test: skimage.measure.regionprops on labels.npy with
intensity.npy from the folder given as argument; one line per region, space separated:
label area centroid_row centroid_col bbox0 bbox1 bbox2 bbox3 equivalent_diameter
major_axis_length minor_axis_length eccentricity orientation solidity perimeter
mean_intensity min_intensity max_intensity"""
import sys
from pathlib import Path

import numpy as np
from skimage.measure import regionprops

folder = Path(sys.argv[1])
labels = np.load(folder / "labels.npy")
intensity = np.load(folder / "intensity.npy")
for p in regionprops(labels, intensity_image=intensity):
    values = [p.label, p.area, p.centroid[0], p.centroid[1], *p.bbox, p.equivalent_diameter,
              p.major_axis_length, p.minor_axis_length, p.eccentricity, p.orientation, p.solidity,
              p.perimeter, p.mean_intensity, p.min_intensity, p.max_intensity]
    print(" ".join(repr(float(v)) for v in values))
