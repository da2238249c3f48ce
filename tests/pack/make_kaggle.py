#!/usr/bin/python3
"""Writes a Kaggle-layout folder of random-ellipse images for the pack benchmark and tests.

usage: make_kaggle.py <out> [--count N] [--min-side 256] [--max-side 512] [--seed 1]
"""
import argparse
import os

import cv2
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--count", type=int, default=60)
    p.add_argument("--min-side", type=int, default=256)
    p.add_argument("--max-side", type=int, default=512)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    for i in range(a.count):
        h, w = (int(v) for v in rng.integers(a.min_side, a.max_side + 1, size=2))
        image_id = "bench%04d" % i
        taken = np.zeros((h, w), np.uint8)
        masks = []
        for _ in range(max(8, int(h * w / 2500))):
            m = np.zeros((h, w), np.uint8)
            center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(4, 14)), int(rng.integers(4, 14)))
            cv2.ellipse(m, center, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
            m[taken > 0] = 0
            if (m > 0).sum() < 10:
                continue
            taken |= m
            masks.append(m)
        base = rng.normal(30, 8, (h, w)).clip(0, 255)
        fg = rng.normal(180, 25, (h, w)).clip(0, 255)
        gray = np.where(taken > 0, fg, base).astype(np.uint8)
        image = cv2.merge([gray, (gray * 0.8).astype(np.uint8), (gray * 0.9).astype(np.uint8), np.full_like(gray, 255)])
        os.makedirs(os.path.join(a.out, image_id, "images"), exist_ok=True)
        os.makedirs(os.path.join(a.out, image_id, "masks"), exist_ok=True)
        cv2.imwrite(os.path.join(a.out, image_id, "images", image_id + ".png"), image)
        for k, m in enumerate(masks):
            cv2.imwrite(os.path.join(a.out, image_id, "masks", "%04d.png" % k), m)


if __name__ == "__main__":
    main()
