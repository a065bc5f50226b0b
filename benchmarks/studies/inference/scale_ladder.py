"""Does the gain one or two scales down, where the truth is known, predict the gain at x2?

    python benchmarks/studies/inference/scale_ladder.py cam384/set

For each image of a generated set: ``fast`` trains on its LR, then the trained upsampler's gain
over bicubic (PSNR, normalised units, a 6-pixel border left out) is measured at x2 against the HR,
one scale down (the LR degraded by the kernel, against the LR) and two scales down (degraded twice,
against the LR degraded once), before (``raw``) and after the cross-scale check. Images whose run
switched the noise model on have no check and are skipped. Quoted in docs/benchmarks.md
("Keeping what holds up one scale down").
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.evaluation.metrics import sr_metrics
from dualsr.evaluation.sets import load_cases
from dualsr.inference.crossscale import even
from dualsr.paper.resize import bicubic_up2

BORDER = 6


def channels_first(image: np.ndarray) -> np.ndarray:
    return image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)


def gain(result: torch.Tensor, base: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR of ``result`` minus that of ``base`` against ``truth`` (dB), borders left out."""
    crop = (..., slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    error = [float(((a - truth)[crop] ** 2).mean()) for a in (result, base)]
    return 10 * np.log10(error[1] / error[0])


def ladder(result, lr: np.ndarray) -> list[tuple[float, float]]:  # noqa: ANN001 - a DualSRResult
    """(raw, checked) gains one and two scales down."""
    up = result.upsampler
    truth = torch.from_numpy(result.normalization.apply(channels_first(lr), 0 if lr.ndim == 3 else None))[None]
    rows = []
    with torch.inference_mode():
        for _ in range(2):
            h, w = truth.shape[-2:]
            lower = up.check._down(even(truth))
            base = bicubic_up2(lower)[..., :h, :w]
            raw, checked = (f(lower)[..., :h, :w] for f in (up.pipeline, up))
            rows.append((gain(raw, base, truth), gain(checked, base, truth)))
            truth = lower
    return rows


def set_arguments() -> argparse.Namespace:
    """SET [--images a,b] [--iterations N], the arguments of the studies that train ``fast`` per image."""
    p = argparse.ArgumentParser()
    p.add_argument("set", help="a generated set folder (dualsr bench's layout)")
    p.add_argument("--images", help="comma-separated names (default: all)")
    p.add_argument("--iterations", type=int, help="training steps (default: fast's)")
    return p.parse_args()


def main() -> None:
    args = set_arguments()
    torch.set_num_threads(1)
    config = preset("fast", iterations=args.iterations)
    print("| image | x2 vs bicubic | one scale down: raw / checked | two down: raw / checked | kept |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case in load_cases(args.set, names=args.images.split(",") if args.images else None):
        result = train(case.lr, config=config)
        if result.upsampler.check is None:
            print(f"| {case.name} | noise model on: no check | | | |", flush=True)
            continue
        unit = bicubic_up2(torch.from_numpy(channels_first(case.lr.astype(np.float64) / case.data_range))[None])
        bicubic = np.round(unit[0].numpy() * case.data_range).clip(0, case.data_range)
        bicubic = bicubic[0] if case.lr.ndim == 2 else np.moveaxis(bicubic, 0, -1)
        x2 = sr_metrics(result.image, case.hr, 2, case.data_range)["psnr"]
        x2 -= sr_metrics(bicubic.astype(case.lr.dtype), case.hr, 2, case.data_range)["psnr"]
        steps = " | ".join(f"{raw:+.2f} / {checked:+.2f}" for raw, checked in ladder(result, case.lr))
        print(f"| {case.name} | {x2:+.2f} | {steps} | {100 * result.detail['kept']:.0f} % |", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
