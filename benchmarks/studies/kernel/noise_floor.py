"""Does the spectral kernel improve on noisy LRs when the noise floor is known, not measured?

``dualsr.kernels.spectral.log_ratios`` subtracts the median power near Nyquist as the noise
floor. With an estimate of the noise (``dualsr.noise.estimate.estimate_noise``) the floor is known: the
mean noise variance times the Hann window's energy. This compares the two on the generated
noisy sets (kernel only, no training; grey LR normalised by its 0.1/99.9 percentiles):

    python benchmarks/studies/kernel/noise_floor.py out/noise_p3000/set out/noise_p300/set out/noise_p30/set
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from functools import partial

import numpy as np

import dualsr.kernels.spectral as sk
from dualsr.evaluation.metrics import kernel_error
from dualsr.evaluation.sets import load_cases
from dualsr.noise.estimate import estimate_noise
from dualsr.paper.patches import to_gray


@contextmanager
def known_floor(floor: float):
    """The estimator with a fixed noise floor: ``log_ratios``'s ``floor`` for the duration."""
    measured = sk.log_ratios
    sk.log_ratios = partial(measured, floor=floor)
    try:
        yield
    finally:
        sk.log_ratios = measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+")
    args = parser.parse_args()
    window = np.outer(np.hanning(sk.TILE), np.hanning(sk.TILE))
    for folder in args.sets:
        errors: dict[str, list[float]] = {"median floor": [], "known floor": []}
        for case in load_cases(folder):
            lr = case.lr.astype(np.float64)
            gray = to_gray(np.moveaxis(lr, -1, 0)) if lr.ndim == 3 else lr
            low, high = np.percentile(gray, [0.1, 99.9])
            x = ((gray - low) / (high - low)).astype(np.float32)
            variance = float(np.mean(estimate_noise(gray).std(gray) ** 2)) / (high - low) ** 2
            measured = sk.estimate_kernel(x)
            with known_floor(variance * float((window**2).sum())):
                known = sk.estimate_kernel(x)
            for name, est in (("median floor", measured), ("known floor", known)):
                errors[name].append(100 * kernel_error(est.kernel, case.kernel)["kernel_max_rel"])
            print(f"{folder} {case.name}: " + ", ".join(f"{k} {v[-1]:.0f} %" for k, v in errors.items()))
        print(f"{folder} mean: " + ", ".join(f"{k} {np.mean(v):.1f} %" for k, v in errors.items()))


if __name__ == "__main__":
    main()
