"""``dualsr.isotropic`` on a real anisotropic stack, for looking at its XZ view (docs/isotropic.md).

    python benchmarks/isotropic_real.py STACK.tif --voxel-size 1.0,0.4,0.4 -o /tmp/isoreal

Writes OUT/xz.png (input, slices repeated | cubic B-spline | ours, at the Y with the most
structure), OUT/profile.txt (the blind profile) and prints the run's summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import dualsr
from dualsr.io.volume import read_volume
from dualsr.isotropic.interpolate import bspline_axis
from dualsr.isotropic.train import TrainSettings


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("stack")
    p.add_argument("--voxel-size", required=True)
    p.add_argument("-o", "--out", default="isoreal")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=600)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vol = np.asarray(read_volume(args.stack, "ZYX").data)
    voxel = tuple(float(v) for v in args.voxel_size.split(","))
    result = dualsr.isotropic(vol, voxel, settings=TrainSettings(steps=args.steps))
    np.save(out / "isotropic.npy", result.image)
    f = result.factor
    bs = bspline_axis(vol.astype(np.float64), f)
    y = int(np.argmax(vol.astype(np.float64).std(axis=(0, 2))))
    j = np.arange(result.image.shape[0])
    nearest = np.clip(np.rint((j - (f - 1) / 2) / f).astype(int), 0, vol.shape[0] - 1)
    rep = vol[nearest, y, :].astype(np.float64)  # each slice shown over the planes it covers
    panels = [rep, bs[:, y, :], result.image[:, y, :].astype(np.float64)]
    lo, hi = np.percentile(vol, [0.5, 99.8])
    tiles = [np.clip((t - lo) / (hi - lo), 0, 1) for t in panels]
    row = np.concatenate([np.pad(t, ((0, 0), (0, 4)), constant_values=1) for t in tiles], axis=1)
    Image.fromarray((row * 255).astype(np.uint8)).save(out / "xz.png")
    summary = result.summary()
    summary["xz_row_y"] = y
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
