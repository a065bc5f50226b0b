"""The guided model's half-turn ensemble: its denoiser run once (flipped for the turned pass) or twice.

    python benchmarks/studies/noise/guide_once.py out/sample_noisy tissue
    python benchmarks/studies/noise/guide_once.py out/np300/set astronaut

Trains ``fast`` once on one image of a ``dualsr bench`` set and scores the x2 both ways against
the HR (the bench's Y-channel PSNR), with the time of each x2: the two ways differ only in the
denoiser's asymmetric NLM window (rows and columns -1..+2 around a pixel).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import dualsr
from dualsr.config import preset
from dualsr.evaluation.bench import evaluate
from dualsr.evaluation.sets import load_cases
from dualsr.inference.upsampler import GroupedUpsampler, upsample


class TwiceDenoised(GroupedUpsampler):
    """The ensemble as before: each pass denoises its own input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        none = [None] * len(self.models)
        turned = torch.flip(self._upsample(torch.flip(x, (-2, -1)), none), (-2, -1))
        return 0.5 * (self._upsample(x, none) + turned)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set", type=Path)
    p.add_argument("image")
    p.add_argument("--iterations", type=int, help="training steps (default: the fast preset's)")
    args = p.parse_args()
    torch.set_num_threads(1)
    (case,) = load_cases(args.set, names=[args.image])
    lr = case.lr
    result = dualsr.train(lr, config=preset("fast", iterations=args.iterations))
    up = result.upsampler
    twice = TwiceDenoised(list(up.models), up.groups, up.alpha, up.ensemble).eval()
    outs = {}
    for name, model in (("once", up), ("twice", twice)):
        start = time.perf_counter()
        outs[name] = upsample(model, lr, axes=result.axes, norm=result.normalization)
        seconds = time.perf_counter() - start
        score = evaluate(case, outs[name], None)
        print(f"{case.name} denoiser {name}: PSNR {score['psnr']:.3f} dB, x2 in {seconds:.2f} s")
    diff = outs["once"].astype(np.float64) - outs["twice"]
    rms = np.sqrt(np.mean(diff**2))
    print(f"{case.name}: max |once - twice| {np.abs(diff).max():.1f}, rms {rms:.3f} (image units)")


if __name__ == "__main__":
    main()
