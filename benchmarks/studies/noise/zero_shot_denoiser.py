"""A self-supervised single-image denoiser against the product's NLM + Wiener and BM3D.

Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): the noisy image's two diagonal 2x2
sub-samplings are two noisy views of nearly the same scene; a small residual CNN learns to map
one to the other (plus a consistency term) and then denoises the full image. Run here on the
variance-stabilised image (noise std 1), as the product's denoisers are, on the bundled
sample's noise-free LR with 300 and 30 photons (the recipe of benchmarks/make_sample.py).
Scores are PSNR against the noise-free LR on the 16-bit scale: the clean copy's quality,
which decides the x2 (benchmarks/studies/noise/guide_oracle.py).

    OMP_NUM_THREADS=2 python benchmarks/studies/noise/zero_shot_denoiser.py --photons 300 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import dualsr.noise.denoise as dn
from dualsr.evaluation.metrics import psnr
from dualsr.noise.estimate import estimate_noise

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for make_sample.py
from make_sample import noisy_lr, on_16bit_scale, sample_recipe  # noqa: E402

PEAK = 65535.0
_GAUSSIAN = dn._gaussian_denoise


def _views(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two diagonal 2x2 averages: two noisy half-size views of one scene."""
    a = torch.tensor([[[[0.0, 0.5], [0.5, 0.0]]]])
    b = torch.tensor([[[[0.5, 0.0], [0.0, 0.5]]]])
    return torch.nn.functional.conv2d(x, a, stride=2), torch.nn.functional.conv2d(x, b, stride=2)


def zs_n2n(image: np.ndarray, steps: int = 2000, features: int = 48, seed: int = 0) -> np.ndarray:
    """``image`` (noise std ~1) denoised by a residual 3-layer CNN trained on its own two views."""
    torch.manual_seed(seed)
    act = torch.nn.LeakyReLU(0.2)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, features, 3, padding=1), act, torch.nn.Conv2d(features, features, 3, padding=1), act,
        torch.nn.Conv2d(features, 1, 1),
    )  # fmt: skip
    scale = float(image.std()) or 1.0
    y = torch.as_tensor((image - image.mean()) / scale, dtype=torch.float32)[None, None]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, steps // 3), gamma=0.5)
    v1, v2 = _views(y)
    for _ in range(steps):
        p1, p2 = v1 - net(v1), v2 - net(v2)
        residual = 0.5 * ((p1 - v2).square().mean() + (p2 - v1).square().mean())
        f1, f2 = _views(y - net(y))
        consistency = 0.5 * ((p1 - f1).square().mean() + (p2 - f2).square().mean())
        opt.zero_grad()
        (residual + consistency).backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        out = (y - net(y))[0, 0].numpy()
    return out * scale + image.mean()


def _with(method: str, steps: int = 2000):
    """``dn.denoise``'s Gaussian step replaced by ZS-N2N (``steps`` Adam steps) for ``method == 'zs_n2n'``."""

    def gaussian(image: np.ndarray, sigma: float, name: str, channel_axis: int | None) -> np.ndarray:
        if method == "zs_n2n":
            return zs_n2n(image, steps)
        return _GAUSSIAN(image, sigma, name, channel_axis)

    return gaussian


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photons", type=float, nargs="+", default=[300.0, 30.0])
    parser.add_argument("--steps", type=int, default=2000, help="ZS-N2N training steps (default 2000)")
    args = parser.parse_args()
    _hr, _kernel, lr = sample_recipe()
    free = on_16bit_scale(lr)  # the noise-free LR on the 16-bit scale
    methods = ["nlm_wiener", "zs_n2n"]
    try:
        import bm3d  # noqa: F401

        methods.insert(1, "bm3d")
    except ImportError:
        pass
    for photons in args.photons:
        noisy = noisy_lr(lr, photons)
        noise = estimate_noise(noisy)
        line = [f"noisy {psnr(noisy.astype(np.float64), free, PEAK):.2f}"]
        for method in methods:
            dn._gaussian_denoise = _with(method, args.steps)
            start = time.perf_counter()
            out = dn.denoise(noisy, noise, method="nlm_wiener" if method == "zs_n2n" else method)
            dn._gaussian_denoise = _GAUSSIAN
            seconds = time.perf_counter() - start
            line.append(f"{method} {psnr(out.astype(np.float64), free, PEAK):.2f} ({seconds:.0f} s)")
        print(f"{photons:g} photons: " + ", ".join(line), flush=True)


if __name__ == "__main__":
    main()
