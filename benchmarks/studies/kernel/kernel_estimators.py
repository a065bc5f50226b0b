"""Kernel error of the spectral estimate, its variants, and the floor a perfect Gaussian would reach.

    python benchmarks/studies/kernel/kernel_estimators.py out/bench384/set astronaut camera chelsea coffee \\
        hubble_deep_field immunohistochemistry moon rocket

For each image of a set (DIV2KRK layout, with ``degradation.json`` from ``dualsr degrade`` /
``dualsr bench skimage``): the max error (% of the true peak) of

- ``floor``: the smooth Gaussian with the drawn variances and angle: what a perfect
  parametric estimate scores against kernels that carry DIV2KRK's +-25 % pixel noise;
- ``spectral``: ``dualsr.kernels.spectral.estimate_kernel`` as the engine uses it;
- ``overlap 1/2``: the same with Welch tiles overlapping by half (the first version);
- ``x 0.9``: the engine's covariance scaled by 0.9 (a correction for soft scenes; not kept).

The GAN's kernel side is measured by ``benchmarks/studies/kernel/kernel_only.py``; docs/blind_kernel.md has
both tables.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import dualsr.kernels.spectral as sk
from dualsr.evaluation.metrics import kernel_error
from dualsr.evaluation.sets import load_cases
from dualsr.paper.kernel import gaussian_kernel


def grey(lr: np.ndarray) -> np.ndarray:
    scale = 65535.0 if lr.dtype == np.uint16 else 255.0
    x = lr.astype(np.float64) / scale
    return x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0)


def half_overlap(image: np.ndarray) -> np.ndarray:
    g = sk.gray_planes(image)[0]
    tile, window = sk.TILE, np.outer(np.hanning(sk.TILE), np.hanning(sk.TILE))
    tiles = [
        g[i : i + tile, j : j + tile]
        for i in range(0, g.shape[0] - tile + 1, tile // 2)
        for j in range(0, g.shape[1] - tile + 1, tile // 2)
    ]
    spectrum = np.mean([np.abs(np.fft.fft2((t - t.mean()) * window)) ** 2 for t in tiles], axis=0)
    covariance = sk.fit_ratios(*sk.log_ratios(spectrum))[0]
    return sk.gaussian_from_covariance(sk.clip_covariance(covariance, *sk.VARIANCE_RANGE))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set")
    p.add_argument("images", nargs="*")
    args = p.parse_args()
    draws = {d["name"]: d for d in json.loads((Path(args.set) / "degradation.json").read_text())["images"]}
    methods = {
        "floor": lambda case, image: gaussian_kernel(
            13, draws[case.name]["var_1"], draws[case.name]["var_2"], draws[case.name]["angle"]
        ),
        "spectral": lambda case, image: sk.estimate_kernel(image).kernel,
        "overlap 1/2": lambda case, image: half_overlap(image),
        "x 0.9": lambda case, image: sk.gaussian_from_covariance(
            sk.clip_covariance(0.9 * sk.estimate_kernel(image).covariance, *sk.VARIANCE_RANGE)
        ),
    }
    errors: dict[str, list[float]] = {m: [] for m in methods}
    for case in load_cases(args.set, names=args.images or None):
        image = grey(case.lr)
        row = []
        for name, method in methods.items():
            errors[name].append(kernel_error(method(case, image), case.kernel)["kernel_max_rel"])
            row.append(f"{name} {errors[name][-1]:4.0%}")
        print(f"{case.name:22s} " + "  ".join(row), flush=True)
    print("mean                   " + "  ".join(f"{m} {np.mean(v):4.1%}" for m, v in errors.items()))


if __name__ == "__main__":
    main()
