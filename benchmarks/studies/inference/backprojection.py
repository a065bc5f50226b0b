"""Back-projection's gain, side by side on one training: each image trained once with ``fast``,
its x2 scored with the model's back-projection and without it (the same G_UP, kernel, ensemble).

    python benchmarks/studies/inference/backprojection.py out/bench384/set --images camera,moon
    python benchmarks/realistic_set.py out/realistic
    python benchmarks/studies/inference/backprojection.py out/realistic/set

Prints PSNR (Y, as ``dualsr bench`` scores it) and the overshoot of bicubic, without and with, and
the step size (1 on noise-free images, smaller with the noise model on, 0 where none applies).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from dualsr import train
from dualsr.config import preset
from dualsr.evaluation.bench import evaluate
from dualsr.evaluation.sets import from_unit, load_cases, to_unit
from dualsr.paper.resize import bicubic_resize_np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set")
    parser.add_argument("--images", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--steps", type=int, default=10, help="back-projection steps (default: fast's 10)")
    parser.add_argument("--iterations", type=int, default=None, help="training steps (default: fast's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for case in load_cases(args.set, names=args.images.split(",") if args.images else None):
        unit, r = to_unit(case.lr)
        bic = from_unit(bicubic_resize_np(unit, 2.0), case.lr.dtype, r)
        start = time.perf_counter()
        result = train(case.lr, config=preset("fast", iterations=args.iterations, back_projection=args.steps))
        seconds = time.perf_counter() - start
        with_bp = result.image
        up = result.upsampler
        saved = list(up.projections)
        up.projections = nn.ModuleList([nn.Identity() for _ in saved])
        without = result.upsample(case.lr)
        scores = [evaluate(case, x, None) for x in (bic, without, with_bp)]
        rows.append([s["psnr"] for s in scores])
        step = max((p.step for p in saved if not isinstance(p, nn.Identity)), default=0.0)
        psnrs = " / ".join(f"{s['psnr']:.2f}" for s in scores)
        shoots = " / ".join(f"{s['overshoot']:.3f}" for s in scores)
        print(f"{case.name:22s} PSNR {psnrs}  overshoot {shoots}  step {step:.3f}, {seconds:.0f} s", flush=True)
    m = np.mean(rows, axis=0)
    print(f"mean gain over bicubic: without {m[1] - m[0]:+.3f} dB, with {m[2] - m[0]:+.3f} dB ({len(rows)} images)")


if __name__ == "__main__":
    main()
