"""How good must the denoised copy be? The noisy sample with an oracle-blended clean copy.

The noise model's clean copy (training targets, G_UP's guide, back-projection target) is
replaced by ``noise_free + alpha * (copy - noise_free)``: alpha 1 is the product's NLM + Wiener
copy, alpha 0 a perfect denoiser, values between a denoiser whose error is alpha times as large
(LR PSNR printed). Everything else is the ``fast`` preset as ``dualsr bench`` runs it (same
scoring), so the printed x2 PSNR maps a copy's quality to the result it allows. ``--copy bm3d``
makes the copy with BM3D instead (where installed): the product as if its denoiser were BM3D.

    python benchmarks/studies/noise/guide_oracle.py out/sample_noisy 1 0.75 0.5 0
    python benchmarks/studies/noise/guide_oracle.py out/sample_p30 1 --copy bm3d -o out/guide_oracle_p30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from dualsr.cli.main import main as cli_main
from dualsr.engine import train as api
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import psnr
from dualsr.io.files import read_image
from dualsr.io.sample import sample_hr, sample_kernel
from dualsr.noise import model as noise_aware
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import estimate_noise

PEAK = 65535.0


class Oracle:
    """The blended copy, in raw units and as the normalised guide G_UP reads."""

    def __init__(self, alpha: float, lr: np.ndarray, method: str) -> None:
        self.alpha, self.method = alpha, method
        self.noisy = lr.astype(np.float64)
        self.free = degrade(sample_hr().data.astype(np.float64), sample_kernel())
        self.base = denoise(lr, estimate_noise(lr), method=method).astype(np.float64)
        self.guide = noise_aware.GuidedUp.guide
        self.missed = 0

    def blend(self, copy: np.ndarray) -> np.ndarray:
        return self.free + self.alpha * (copy - self.free)

    def clean_copy(self, chosen: np.ndarray, estimate, method: str = "nlm_wiener") -> np.ndarray:
        copy = noise_aware.clean_copy(chosen, estimate, self.method)
        blended = self.blend(copy[0].astype(np.float64))
        print(f"  copy: {psnr(copy[0], self.free, PEAK):.2f} dB -> {psnr(blended, self.free, PEAK):.2f} dB at LR")
        return blended[None].astype(copy.dtype)

    def guided(self, module: noise_aware.GuidedUp, x: torch.Tensor) -> torch.Tensor:
        own = self.guide(module, x)
        plane = x[0, 0].double().cpu().numpy()
        for turns in (0, 2):
            raw = np.rot90(self.noisy, turns)
            if x.shape[0] != 1 or plane.shape != raw.shape:
                continue
            a, b = np.polyfit(raw.reshape(-1), plane.reshape(-1), 1)  # the normalisation is affine
            if np.abs(a * raw + b - plane).max() < 1e-4:
                free = a * np.rot90(self.free, turns) + b
                copy = own[0, 0].double().cpu().numpy()  # the product's guide, or the other denoiser's copy:
                copy = copy if self.method == "nlm_wiener" else a * np.rot90(self.base, turns) + b
                blended = free + self.alpha * (copy - free)
                return torch.as_tensor(blended.copy(), dtype=own.dtype)[None, None]
        self.missed += 1
        return own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="benchmarks/sample_set.py's noisy folder")
    parser.add_argument("alphas", type=float, nargs="+")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/guide_oracle"))
    parser.add_argument("--copy", default="nlm_wiener", choices=["nlm_wiener", "bm3d"], help="the denoiser")
    parser.add_argument("--iterations", type=int, help="training steps (default: the fast preset's)")
    args = parser.parse_args()
    lr = read_image(str(next((args.set / "lr_x2").iterdir()))).data
    for alpha in args.alphas:
        oracle = Oracle(alpha, lr, args.copy)
        api.clean_copy = oracle.clean_copy
        noise_aware.GuidedUp.guide = lambda module, x, o=oracle: o.guided(module, x)
        print(f"alpha {alpha:g}", flush=True)
        steps = ["--fast-iterations", str(args.iterations)] if args.iterations else []
        code = cli_main(
            ["bench", str(args.set), "-o", str(args.out / f"a{alpha:g}"), "--methods", "fast", "--threads", "1", *steps]
        )
        noise_aware.GuidedUp.guide = oracle.guide
        print(f"alpha {alpha:g}: guide calls not matched (tiles/patches): {oracle.missed}", flush=True)
        if code:
            sys.exit(code)


if __name__ == "__main__":
    main()
