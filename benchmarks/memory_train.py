"""Numpy memory of training on a large plane, from `train()` until its first step is done.

    PYTHONPATH=src:tests python benchmarks/memory_train.py 4096 8192

The plane is a 1024^2 uint16 texture tiled to N x N; tracemalloc sees every numpy
allocation (the uint16 input, made before, is not counted). Figures: docs/reliability.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import textured  # noqa: E402
from test_reliability_large import training_start_peak  # noqa: E402

MB = 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sizes", nargs="+", type=int, help="plane sides, multiples of 1024")
    args = p.parse_args()
    tile = (textured((1024, 1024), seed=1) * 60000).astype(np.uint16)
    training_start_peak(tile[:256, :256], "YX")  # first-use imports are not the image's
    for n in args.sizes:
        plane = np.tile(tile, (n // 1024, n // 1024))
        start = time.perf_counter()
        peak = training_start_peak(plane, "YX")
        print(
            f"{n}^2 uint16: float32 plane {plane.size * 4 / MB:.0f} MB, numpy peak until the first step "
            f"{peak / MB:.0f} MB ({peak / (plane.size * 4):.1f} planes), {time.perf_counter() - start:.0f} s, "
            f"max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
