"""The doubt map of an over-sharpened x2, without and with the kernel-hypothesis term (docs/trust.md).

    python benchmarks/trust.py cam384/set --config acquisition=gaussian-blur,cross_scale_check=false --save WITH
    python docs/make_doubt_figure.py WITHOUT/set/cell.npz WITH/set/cell.npz cam384/set/gt/cell.png out.png

Panels, left to right: HR | bicubic x2 | DualSR x2 | |x2 - HR| | doubt without | doubt with the term. The
error and both maps share one grey scale (0 to the error's 99th percentile at the data's resolution), so
a map that matches the error in size looks like it. ``WITHOUT`` is the same run before the term existed.
"""

from __future__ import annotations

import argparse

import imageio.v3 as iio
import numpy as np
import torch

from dualsr.trust.doubt import resolution_scaled


def grey(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image, dtype=np.float64)
    return a.mean(-1) if a.ndim == 3 else a


def smoothed(error: np.ndarray) -> np.ndarray:
    return resolution_scaled(torch.from_numpy(error[None, None]))[0, 0].numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("without")
    p.add_argument("with_term")
    p.add_argument("hr")
    p.add_argument("out")
    args = p.parse_args()
    before, after = np.load(args.without), np.load(args.with_term)
    hr = grey(iio.imread(args.hr))
    scale = 255.0 if np.asarray(after["x2"]).dtype == np.uint8 else 65535.0
    images = [hr, grey(after["bicubic"]), grey(after["x2"])]
    lo, hi = np.percentile(hr, [0.5, 99.5])
    panels = [np.clip((im - lo) / (hi - lo), 0, 1) for im in images]
    error = smoothed(np.abs(grey(after["x2"]) - hr) / scale)
    top = np.percentile(error, 99)
    panels += [np.clip(m / top, 0, 1) for m in (error, before["doubt"], after["doubt"])]
    gap = np.ones((hr.shape[0], 4))
    row = np.concatenate([x for panel in panels for x in (panel, gap)][:-1], axis=1)
    iio.imwrite(args.out, (255 * row).astype(np.uint8))
    print(f"wrote {args.out}: error scale 0..{top:.4f} of the range")


if __name__ == "__main__":
    main()
