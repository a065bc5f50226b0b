"""How far can the bundled samples go? Linear x2 filters fitted on the HR truth itself (oracles).

For each sample LR (the demo image, 4000 photons; the noisy sample, 300 photons; the noise-free
LR), the best linear x2 from 15x15 LR neighbourhoods is fitted by least squares against the HR
(one filter per output phase): from the LR alone, and from the LR with its denoised copy
(NLM + Wiener; and BM3D too if installed). A blind method sees no HR, so these are not bounds
on what it can do, but they show how much a noisy LR still holds for any filter of that size.
With ``--result RUN`` (a ``dualsr bench`` output folder of the sample), its x2 is scored with
the best 7x7 linear post-filter too: how far it is from a linear correction of itself.

    python benchmarks/studies/noise/oracle_bounds.py
    python benchmarks/studies/noise/oracle_bounds.py --result demo=out/f_sc --result noisy=out/f_sn
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import psnr
from dualsr.io.files import read_image
from dualsr.io.sample import sample_hr, sample_kernel, sample_lr, sample_noisy_lr
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import estimate_noise
from dualsr.paper.resize import bicubic_resize_np

PEAK = 65535.0


def _design(features: list[np.ndarray], radius: int) -> np.ndarray:
    """Every pixel's (2r+1)^2 neighbourhood in every feature image, and a constant."""
    h, w = features[0].shape
    size = 2 * radius + 1
    cols = [sliding_window_view(np.pad(f, radius, mode="reflect"), (size, size)).reshape(h * w, -1) for f in features]
    return np.concatenate([*cols, np.ones((h * w, 1))], axis=1)


def oracle_x2(features: list[np.ndarray], hr: np.ndarray, radius: int = 7) -> np.ndarray:
    """The least-squares x2 from LR-sized ``features``: one linear filter per output phase."""
    x = _design(features, radius)
    out = np.zeros_like(hr)
    h, w = features[0].shape
    for dy in range(2):
        for dx in range(2):
            weights = np.linalg.lstsq(x, hr[dy::2, dx::2].reshape(-1), rcond=None)[0]
            out[dy::2, dx::2] = (x @ weights).reshape(h, w)
    return out


def oracle_post_filter(image: np.ndarray, hr: np.ndarray, radius: int = 3) -> np.ndarray:
    """``image`` (HR-sized) through the least-squares (2r+1)^2 filter that brings it closest to ``hr``."""
    x = _design([image], radius)
    return (x @ np.linalg.lstsq(x, hr.reshape(-1), rcond=None)[0]).reshape(hr.shape)


def _denoisers() -> list[str]:
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return ["nlm_wiener"]
    return ["nlm_wiener", "bm3d"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result", action="append", default=[], help="NAME=RUN: demo=out/f_sc, noisy=out/f_sn")
    parser.add_argument("--radius", type=int, default=7, help="LR neighbourhood radius (default 7: 15x15)")
    args = parser.parse_args()
    hr = sample_hr().data.astype(np.float64)
    clean = degrade(hr, sample_kernel())
    samples = {"demo": sample_lr().data, "noisy": sample_noisy_lr().data, "noise-free": clean}
    runs = dict(item.split("=", 1) for item in args.result)
    for name, lr in samples.items():
        raw = np.asarray(lr, dtype=np.float64)
        line = [f"bicubic {psnr(bicubic_resize_np(raw, 2.0), hr, PEAK):.2f}"]
        line.append(f"oracle from LR {psnr(oracle_x2([raw], hr, args.radius), hr, PEAK):.2f}")
        if name != "noise-free":
            noise = estimate_noise(lr)
            copies = [denoise(lr, noise, method=m).astype(np.float64) for m in _denoisers()]
            both = oracle_x2([raw, *copies], hr, args.radius)
            line.append(f"from LR + {' + '.join(_denoisers())} {psnr(both, hr, PEAK):.2f}")
        if name in runs:
            x2 = read_image(f"{runs[name]}/runs/tissue/fast.png").data.astype(np.float64)
            filtered = psnr(oracle_post_filter(x2, hr), hr, PEAK)
            line.append(f"fast {psnr(x2, hr, PEAK):.2f}, with a 7x7 oracle post-filter {filtered:.2f}")
        print(f"{name:10s} " + "; ".join(line), flush=True)


if __name__ == "__main__":
    main()
