"""How long and how fast should the through-plane upsampler train? Steps, learning rate, batch, seed.

    python benchmarks/studies/isotropic/training_variants.py --volume concrete --factor 4 \
        --variants 600:1e-3:8:0,600:1e-3:8:1,600:1e-3:8:2,2400:1e-3:8:0,2400:1e-3:8:1

Each variant (``steps:lr:batch:seed``) trains the benchmark's network on the same acquired stack (the
volume's slice profile, the blind estimate, the noise model as the product decides) and prints its gain
over cubic B-spline in the XZ and YZ views, with its training time: the measurement behind the default
of 2400 steps (docs/isotropic.md, *2400 training steps at every factor*). One torch thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import TRUTH, add_real_paths, load, real_paths, run_net, view_metrics  # noqa: E402

from dualsr.isotropic.blocks import output_planes  # noqa: E402
from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import estimate_profile  # noqa: E402
from dualsr.isotropic.interpolate import bspline_axis  # noqa: E402
from dualsr.isotropic.noise import denoise_stack, plan_stack_noise  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402
from dualsr.isotropic.train import TrainSettings  # noqa: E402


def parse_variant(text: str) -> TrainSettings:
    """``steps:lr:batch:seed`` (the last ones may be left out) as the settings it names."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 4:
        raise SystemExit(f"variant {text!r}: write steps:lr:batch:seed, e.g. 2400:1e-3:8:0")
    d = TrainSettings()
    steps, lr, batch, seed = (parts + [None] * 4)[:4]
    return TrainSettings(
        steps=int(steps),
        lr=float(lr) if lr else d.lr,
        batch=int(batch) if batch else d.batch,
        seed=int(seed) if seed else d.seed,
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="concrete")
    p.add_argument("--factor", type=float, default=4.0)
    p.add_argument("--variants", default="600,2400", help="steps:lr:batch:seed, comma-separated")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    add_real_paths(p)
    args = p.parse_args()
    torch.set_num_threads(1)
    truth = load(args.volume, args.size, real_paths(args))
    shape, rel = TRUTH[args.volume]
    stack = degrade_axis(truth, 0, args.factor, named(shape, rel * args.factor))
    n_out = output_planes(stack.shape[0], args.factor)
    gt = truth[:n_out]
    base = view_metrics(bspline_axis(stack, args.factor)[:n_out], gt, args.factor)
    profile = estimate_profile(stack.astype(np.float32), args.factor).profile
    plan = plan_stack_noise("auto", stack)
    data = denoise_stack(stack, plan.estimate) if plan.active else stack
    print("| steps | lr | batch | seed | ours − B-spline, XZ / YZ | training s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for text in args.variants.split(","):
        s = parse_variant(text)
        volume, times = run_net(data, args.factor, profile, s)
        m = view_metrics(volume[:n_out], gt, args.factor)
        gain = [m[v]["psnr"] - base[v]["psnr"] for v in ("XZ", "YZ")]
        cells = [s.steps, f"{s.lr:g}", s.batch, s.seed, f"{gain[0]:+.2f} / {gain[1]:+.2f}", f"{times['train_s']:.0f}"]
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
