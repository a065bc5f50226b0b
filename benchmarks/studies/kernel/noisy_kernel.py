"""Kernel error of the spectral estimate on noisy images: where the kernel is read, and how.

    python benchmarks/studies/kernel/noisy_kernel.py out/np3000/set out/np300/set out/np30/set \\
        out/sample_clean out/sample_noisy

For each image of each set (DIV2KRK layout; the LR normalised as ``dualsr.train`` does), the
max error (% of the true peak) of the spectral kernel

- ``plain, noisy``: the plain log-ratio fit on the noisy image (what a noise-free run reads);
- ``plain, clean copy``: the plain fit on the denoised copy (the noise model's path before);
- ``noise-aware, noisy``: :func:`dualsr.kernels.spectral.fit_noisy_ratios` on the noisy image
  (the noise model's path now, ``noise_kernel="noisy"``).

A ``*`` marks an estimate that reports itself not settled. Kernel only, no training: 0.1-1 s
an image. docs/blind_kernel.md has the table.
"""

from __future__ import annotations

import argparse

import numpy as np

from dualsr.evaluation.metrics import kernel_error
from dualsr.evaluation.sets import load_cases
from dualsr.io.axes import Layout
from dualsr.io.normalize import fit_normalization
from dualsr.kernels.spectral import SpectralEstimate, estimate_kernel
from dualsr.noise.model import clean_copy, plan_noise


def estimates(lr: np.ndarray) -> dict[str, SpectralEstimate]:
    """The three estimates of one LR, on its training plane normalised as the engine does."""
    layout = Layout.of(lr.shape, None)
    norm = fit_normalization(lr, "auto")
    chosen = layout.canonical(lr)[layout.plane_indices(None)[0]]
    plan = plan_noise("on", chosen)
    noisy = norm.apply(chosen)
    return {
        "plain, noisy": estimate_kernel(noisy),
        "plain, clean copy": estimate_kernel(norm.apply(clean_copy(chosen, plan.estimate))),
        "noise-aware, noisy": estimate_kernel(noisy, noisy=True),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+")
    args = p.parse_args()
    for folder in args.sets:
        errors: dict[str, list[float]] = {}
        for case in load_cases(folder):
            row = []
            for name, est in estimates(case.lr).items():
                errors.setdefault(name, []).append(kernel_error(est.kernel, case.kernel)["kernel_max_rel"])
                row.append(f"{name} {errors[name][-1]:4.0%}{' ' if est.settled else '*'}")
            print(f"{folder} {case.name:22s} " + "  ".join(row), flush=True)
        print(f"{folder} mean: " + "  ".join(f"{m} {np.mean(v):.1%}" for m, v in errors.items()), flush=True)


if __name__ == "__main__":
    main()
