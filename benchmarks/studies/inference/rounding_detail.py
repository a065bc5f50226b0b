"""How much of the x2's detail within an integer LR's rounding should be kept?

    python benchmarks/studies/inference/rounding_detail.py cam384/set --images cell,retina,chelsea

For each image of a generated set: ``fast`` trains on its LR; its upsampler is then run with the
cross-scale check's rounding rule off, and the detail over bicubic (``x2 - bicubic``, before
rounding) is thresholded offline at the rounding's standard deviation (1/sqrt(12) LSB, shipped) and
at twice it (the back-projection's tolerance), hard (drop what is below) or soft (also shrink what
is above). Y PSNR of each against the HR, the bench's metric. Images whose run switched the noise
model on (no check) or decided a blur model (no rule) are reported without variants. Quoted in
docs/benchmarks.md ("Detail within the rounding").
"""

from __future__ import annotations

import os

import numpy as np
import torch
from scale_ladder import channels_first, set_arguments  # this folder's: run as a script

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.evaluation.metrics import sr_metrics
from dualsr.evaluation.sets import load_cases
from dualsr.inference.crossscale import ROUNDING_STD
from dualsr.paper.resize import bicubic_up2

VARIANTS = (("hard", ROUNDING_STD), ("hard", 2 * ROUNDING_STD), ("soft", ROUNDING_STD), ("soft", 2 * ROUNDING_STD))


def scored(case, x2: torch.Tensor, norm) -> float:  # noqa: ANN001 - a Case and a Normalization
    """Y PSNR of a normalised ``(1, C, 2H, 2W)`` x2, restored to the LR's range and rounded as a file would be."""
    image = norm.invert(x2[0].numpy(), channel_axis=0 if case.lr.ndim == 3 else None)  # rounded to the dtype
    image = image[0] if case.lr.ndim == 2 else np.moveaxis(image, 0, -1)
    return sr_metrics(image, case.hr, 2, case.data_range)["psnr"]


def main() -> None:
    args = set_arguments()
    torch.set_num_threads(1)
    config = preset("fast", iterations=args.iterations)
    labels = " | ".join(f"{kind} {t:.2f} LSB" for kind, t in VARIANTS)
    print(f"| image | bicubic | no rule | {labels} |")
    print("| --- | ---: | ---: |" + " ---: |" * len(VARIANTS))
    for case in load_cases(args.set, names=args.images.split(",") if args.images else None):
        result = train(case.lr, config=config)
        up, norm = result.upsampler, result.normalization
        x = torch.from_numpy(norm.apply(channels_first(case.lr), 0 if case.lr.ndim == 3 else None))[None].float()
        with torch.inference_mode():
            base = bicubic_up2(x)
            if up.check is None or not up.check.thresholded:
                print(f"| {case.name} | {scored(case, base, norm):.2f} | {scored(case, up(x), norm):.2f} |", flush=True)
                continue
            lsb = up.check.tolerance / ROUNDING_STD
            up.check.thresholded = False
            detail = up(x) - base
        row = [scored(case, base, norm), scored(case, base + detail, norm)]
        for kind, t in VARIANTS:
            cut = detail.abs() > t * lsb
            kept = detail if kind == "hard" else detail - t * lsb * detail.sign()
            row.append(scored(case, base + kept * cut, norm))
        print(f"| {case.name} | " + " | ".join(f"{v:.2f}" for v in row) + " |", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
