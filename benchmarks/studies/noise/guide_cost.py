"""What the guided upsampler (``noise_guide``) costs: training and inference, side by side.

    python benchmarks/studies/noise/guide_cost.py                 # the noisy sample, 100 steps per run, 3 rounds
    python benchmarks/studies/noise/guide_cost.py --steps 500 --rounds 1

Trains ``fast`` on the bundled noisy sample with the guide off and on, alternating, in one
process and one torch thread (the machine is shared: the ratio is what counts), then times the
x2 of the sample with each trained upsampler (torch) and each exported ONNX file (onnxruntime).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import dualsr
from dualsr.config import preset
from dualsr.io.sample import sample_noisy_lr
from dualsr.runtime.onnx_runtime import OnnxUpsampler


def timed(fn, repeats: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(1)
    lr = sample_noisy_lr().data
    print(f"CPU: {platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}, one torch thread")
    train_s: dict[bool, list[float]] = {False: [], True: []}
    results = {}
    for _ in range(args.rounds):
        for guided in (False, True):
            config = preset("fast", iterations=args.steps, noise_guide=guided)
            start = time.perf_counter()
            results[guided] = dualsr.train(lr, config=config)
            train_s[guided].append(time.perf_counter() - start)
    for guided in (False, True):
        s = np.median(train_s[guided])
        name = "on " if guided else "off"
        print(f"guide {name}: train {s:.1f} s for {args.steps} steps ({1e3 * s / args.steps:.0f} ms/step)")
    ratio = np.median(train_s[True]) / np.median(train_s[False])
    print(f"training time, guide on / off: {ratio:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        for guided, result in results.items():
            t_torch = timed(lambda r=result: r.upsample(lr))
            path = result.export_onnx(Path(tmp) / f"g{int(guided)}.onnx")
            model = OnnxUpsampler(path, device="cpu", threads=1)
            t_ort = timed(lambda m=model: m.upsample(lr))
            name = "on " if guided else "off"
            print(f"guide {name}: x2 of the {lr.shape} sample: torch {t_torch:.2f} s, onnxruntime {t_ort:.2f} s")


if __name__ == "__main__":
    main()
