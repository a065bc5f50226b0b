"""Content blurrier along Z than in its planes (a confocal's axial PSF): what the blind profile restores.

    python benchmarks/studies/isotropic/axial_blur.py --factors 3,4 --axial-sigma 1.2

The benchmark's synthetic volume (the isotropic *object*) is blurred along Z by a Gaussian of
``--axial-sigma`` pixels (the *original*: what a confocal records before its Z step is coarsened),
then acquired along Z with the benchmark's slice profile (Gaussian, FWHM 0.6 x the step). The blind
estimate sees the slice profile and the axial blur together; the network then sharpens Z towards
the in-plane resolution. Gains over cubic B-spline (XZ / YZ, PSNR dB) are scored against both the
original and the object, for the blind profile and for the slice profile given. Quoted in
docs/isotropic.md ("A real microscopy volume").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import load, run_net, view_metrics  # noqa: E402

from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import estimate_profile  # noqa: E402
from dualsr.isotropic.interpolate import bspline_axis  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402
from dualsr.isotropic.train import TrainSettings  # noqa: E402


def gains(result: np.ndarray, bspline: np.ndarray, truth: np.ndarray, factor: float) -> str:
    """``XZ / YZ`` PSNR gain of ``result`` over ``bspline`` against ``truth``."""
    r, b = view_metrics(result, truth, factor), view_metrics(bspline, truth, factor)
    return " / ".join(f"{r[v]['psnr'] - b[v]['psnr']:+.2f}" for v in ("XZ", "YZ"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factors", default="3,4")
    p.add_argument("--axial-sigma", type=float, default=1.2, help="extra Z blur of the original (pixels)")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    p.add_argument("--steps", type=int, default=TrainSettings.steps)
    args = p.parse_args()
    torch.set_num_threads(1)
    obj = load("synthetic", args.size)
    original = ndimage.gaussian_filter1d(obj, args.axial_sigma, axis=0)
    settings = TrainSettings(steps=args.steps)
    print("| factor | slice FWHM | blind FWHM | vs original: blind | given | vs object: blind | given |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for factor in (float(f) for f in args.factors.split(",")):
        truth = named("gaussian", 0.6 * factor)
        lr = degrade_axis(original, 0, factor, truth)
        n = int(np.floor(lr.shape[0] * factor + 1e-6))
        blind = estimate_profile(lr.astype(np.float32), factor).profile
        bs = bspline_axis(lr, factor)[:n]
        runs = [run_net(lr, factor, prof, settings)[0][:n] for prof in (blind, truth)]
        cells = [gains(r, bs, t[:n], factor) for t in (original, obj) for r in runs]
        print(f"| {factor:g} | {truth.fwhm:.2f} | {blind.fwhm:.2f} ({blind.shape}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
