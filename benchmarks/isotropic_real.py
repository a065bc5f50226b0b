"""``dualsr.isotropic`` on a real anisotropic stack, for looking at its XZ view (docs/isotropic.md).

    python benchmarks/isotropic_real.py STACK.tif --voxel-size 1.0,0.4,0.4 -o /tmp/isoreal

Writes OUT/xz.png (input, slices repeated | cubic B-spline | ours, at the Y with the most
structure, or ``--y``; ``--x`` crops X, ``--zoom`` enlarges, ``--gamma`` for display) and prints the
run's summary. ``--compare-noise`` adds a run with the noise model off, as a fourth panel after ours.
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
    p.add_argument("--noise", choices=("auto", "on", "off"), default="auto", help="the noise model (default: auto)")
    p.add_argument("--compare-noise", action="store_true", help="also run with the noise model off (4th panel)")
    p.add_argument("--y", type=int, help="the XZ plane's Y (default: the one with the most structure)")
    p.add_argument("--x", default=":", help="X range shown, as start:stop (default: all)")
    p.add_argument("--zoom", type=int, default=1, help="nearest-neighbour enlargement for display")
    p.add_argument("--gamma", type=float, default=1.0, help="display gamma")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vol = np.asarray(read_volume(args.stack, "ZYX").data)
    voxel = tuple(float(v) for v in args.voxel_size.split(","))
    settings = TrainSettings(steps=args.steps)
    result = dualsr.isotropic(vol, voxel, noise=args.noise, settings=settings)
    np.save(out / "isotropic.npy", result.image)
    extra = [dualsr.isotropic(vol, voxel, noise="off", settings=settings).image] if args.compare_noise else []
    f = result.factor
    bs = bspline_axis(vol.astype(np.float64), f)
    y = int(np.argmax(vol.astype(np.float64).std(axis=(0, 2)))) if args.y is None else args.y
    xs = slice(*(int(v) if v else None for v in args.x.split(":")))
    j = np.arange(result.image.shape[0])
    nearest = np.clip(np.rint((j - (f - 1) / 2) / f).astype(int), 0, vol.shape[0] - 1)
    rep = vol[nearest, y, :].astype(np.float64)  # each slice shown over the planes it covers
    panels = [rep, bs[:, y, :], result.image[:, y, :].astype(np.float64), *(e[:, y, :] for e in extra)]
    lo, hi = np.percentile(vol, [0.5, 99.8])
    tiles = [np.clip((t[:, xs].astype(np.float64) - lo) / (hi - lo), 0, 1) ** args.gamma for t in panels]
    row = np.concatenate([np.pad(t, ((0, 0), (0, 4)), constant_values=1) for t in tiles], axis=1)
    image = Image.fromarray((row * 255).astype(np.uint8))
    image.resize((row.shape[1] * args.zoom, row.shape[0] * args.zoom), Image.NEAREST).save(out / "xz.png")
    summary = result.summary()
    summary["xz_row_y"] = y
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
