"""Does training on several planes of a stack help? One plane vs all planes, same steps.

    OMP_NUM_THREADS=1 python benchmarks/studies/training/multiplane.py --preset fast --seeds 0 1
    OMP_NUM_THREADS=1 python benchmarks/studies/training/multiplane.py --preset fast --seeds 0 --known

The stack: four overlapping 384x384 crops of the bundled sample's HR original (scikit-image's
``immunohistochemistry``, grey), each degraded like the sample (its true kernel, x2, 16 bit,
shot noise): four 192x192 planes that share one kernel, as the planes of a z-stack do.
For each seed, DualSR trains on plane 0 alone and on all four planes (patches from all of
them, one kernel, one G_UP, the same number of steps), then super-resolves every plane.
Scores: the kernel's error against the true one (``dualsr.evaluation.metrics.kernel_error``) and the
PSNR of the four x2 planes against their HR crops (mean, 16-bit range), beside bicubic's.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import dualsr
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import kernel_error, psnr
from dualsr.io.sample import sample_hr, sample_kernel

OFFSETS = ((0, 0), (128, 0), (0, 128), (128, 128))
SIZE = 384


def stack() -> tuple[np.ndarray, np.ndarray]:
    """(LR stack (4, 192, 192) uint16, HR crops (4, 384, 384) float64)."""
    hr = sample_hr().data.astype(np.float64)
    crops = np.stack([hr[y : y + SIZE, x : x + SIZE] for y, x in OFFSETS])
    rng = np.random.default_rng(0)
    photons, low = 4000.0, 500.0  # the sample's noise (benchmarks/make_sample.py)
    lr = []
    for crop in crops:
        clean = degrade((crop - low) / 50000.0, sample_kernel())
        lr.append(rng.poisson(np.clip(clean, 0, None) * photons) * (50000.0 / photons) + low)
    return np.clip(np.stack(lr), 0, 65535).astype(np.uint16), crops


def score(sr: np.ndarray, hr: np.ndarray) -> float:
    return float(np.mean([psnr(s.astype(np.float64), h, 65535.0) for s, h in zip(sr, hr)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--known", action="store_true", help="give the true kernel: the upsampler's side alone")
    parser.add_argument("--json", default="", help="also write the rows here")
    args = parser.parse_args()
    lr, hr = stack()
    rows = [{"training planes": "bicubic", "psnr": score(dualsr.bicubic_x2(lr, axes="ZYX"), hr)}]
    print(f"torch threads {torch.get_num_threads()}; bicubic PSNR {rows[0]['psnr']:.2f} dB", flush=True)
    for seed in args.seeds:
        for planes in (0, "all"):
            start = time.perf_counter()
            config = dualsr.preset(args.preset, iterations=args.iterations, seed=seed)
            known = sample_kernel() if args.known else None
            result = dualsr.train(lr, axes="ZYX", config=config, plane=planes, known_kernel=known)
            row = {
                "training planes": "plane 0" if planes == 0 else "all 4",
                "seed": seed,
                "psnr": score(result.image, hr),
                **kernel_error(result.kernel, sample_kernel()),
                "kernel_state": result.kernel_state,
                "seconds": round(time.perf_counter() - start, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
