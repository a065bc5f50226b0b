"""Image quality measures used by the demo and the benchmarks."""

from __future__ import annotations

import numpy as np


def psnr(result: np.ndarray, reference: np.ndarray, data_range: float, shave: int = 2) -> float:
    """PSNR in dB between two equally shaped images, ``shave`` border pixels ignored."""
    a = np.asarray(result, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))
