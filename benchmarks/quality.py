"""Quality of one training configuration: PSNR vs the HR original on benchmark images.

    PYTHONPATH=src python benchmarks/quality.py --image sample --preset paper --out results.jsonl
    PYTHONPATH=src python benchmarks/quality.py --image camera --preset fast --set up_features=32

Images: ``sample`` (the bundled microscopy sample, its own HR original), ``camera`` and
``astronaut`` (scikit-image, degraded here with known anisotropic Gaussians by
:func:`dualsr.evaluation.degrade.degrade`; astronaut stays RGB, as the paper's images are). Every run
appends one JSON line (image, preset, overrides, PSNR of DualSR and of bicubic, seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import dualsr
from dualsr.config import preset
from dualsr.engine.loop import StepInfo
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import psnr
from dualsr.paper.kernel import gaussian_kernel
from dualsr.paper.resize import bicubic_resize_np

IMAGES = ("sample", "camera", "astronaut")
SHAVE = 4  # HR pixels ignored at the border (2 LR pixels)


def load(name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """``(lr, hr, data_range)``; arrays are ``YX`` or ``YXC``."""
    if name == "sample":
        from dualsr.io.sample import sample_hr, sample_lr

        hr = sample_hr().data.astype(np.float64)
        return sample_lr().data, hr, float(hr.max() - hr.min())
    from skimage import data

    if name == "camera":
        hr = data.camera().astype(np.float64) / 255.0
        kernel = gaussian_kernel(13, 2.5, 1.0, angle=-0.4)
    elif name == "astronaut":
        hr = data.astronaut().astype(np.float64) / 255.0
        kernel = gaussian_kernel(13, 1.2, 3.2, angle=0.9)
    else:
        raise SystemExit(f"unknown image {name!r}; choose one of {', '.join(IMAGES)}")
    lr = np.clip(degrade(hr, kernel), 0.0, 1.0)
    return (np.round(lr * 255.0).astype(np.uint8)), hr * 255.0, 255.0


def value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", choices=IMAGES, default="sample")
    p.add_argument("--preset", default="paper")
    p.add_argument("--iterations", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--out", default="quality.jsonl")
    p.add_argument("--save", help="write the SR image here (.npy)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    overrides = {k: value(v) for k, v in overrides.items()}
    config = preset(args.preset, iterations=args.iterations, seed=args.seed).with_(**overrides)
    lr, hr, data_range = load(args.image)
    start = time.perf_counter()

    def report(info: StepInfo) -> None:
        if info.step % 100 == 0:
            print(f"{args.image}: step {info.step}/{info.iterations} {info.seconds:.0f} s", file=sys.stderr, flush=True)

    result = dualsr.train(lr, config=config, device="cpu", progress=report)
    seconds = time.perf_counter() - start
    sr = result.image.astype(np.float64)
    bicubic = bicubic_resize_np(lr.astype(np.float64), 2.0)
    row = {
        "image": args.image,
        "preset": args.preset,
        "iterations": config.iterations,
        "overrides": overrides,
        "seed": args.seed,
        "psnr": round(psnr(sr, hr, data_range, shave=SHAVE), 3),
        "psnr_bicubic": round(psnr(bicubic, hr, data_range, shave=SHAVE), 3),
        "train_seconds": round(result.seconds, 1),
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
    }
    if args.save:
        np.save(args.save, result.image)
    with open(Path(args.out), "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
