"""Fusion rules measured (docs/isotropic.md): one model, the XZ and YZ results alone and fused by
mean, geometric mean and Fourier weights, on a benchmark volume at one factor (true profile given,
so that only the fusion differs).

    python benchmarks/studies/isotropic/fusion.py --volume mni --factor 4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import TRUTH, cpu_name, load, view_metrics  # noqa: E402

from dualsr.isotropic.apply import FUSIONS, fuse, upsample_slices  # noqa: E402
from dualsr.isotropic.blocks import output_planes  # noqa: E402
from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402
from dualsr.isotropic.train import TrainSettings, train_upsampler  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="mni")
    p.add_argument("--factor", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=TrainSettings.steps)
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    args = p.parse_args()
    torch.set_num_threads(1)
    f = args.factor
    truth = load(args.volume, args.size)
    shape, rel = TRUTH[args.volume]
    profile = named(shape, rel * f)
    lr = degrade_axis(truth, 0, f, profile).astype(np.float32)
    n_out = output_planes(lr.shape[0], f)
    gt = truth[:n_out]
    model, _ = train_upsampler(lr, f, profile, TrainSettings(steps=args.steps))
    a, b = upsample_slices(model, lr, "x"), upsample_slices(model, lr, "y")
    rows = {"XZ slices only": a, "YZ slices only": b}
    seconds = {}
    for rule in FUSIONS:
        t0 = time.perf_counter()
        rows[rule] = fuse(a, b, rule)
        seconds[rule] = round(time.perf_counter() - t0, 2)
    out = {k: {v: round(m["psnr"], 2) for v, m in view_metrics(x[:n_out], gt, f).items()} for k, x in rows.items()}
    print(json.dumps({"volume": args.volume, "factor": f, "psnr": out, "fuse_s": seconds, "cpu": cpu_name()}))


if __name__ == "__main__":
    main()
