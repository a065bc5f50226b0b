"""What a blind-profile variant does to the result (docs/isotropic.md, "The blind slice profile").

    python benchmarks/studies/isotropic/profile_psnr.py --variants slab -o /tmp/profile_psnr.jsonl

For each benchmark volume and factor: the profile from one variant of
benchmarks/studies/isotropic/profile_estimators.py, then the benchmark's own training and
application (benchmarks/isotropic_bench.py, the same settings and seed), PSNR/SSIM per view and
the gain over cubic B-spline. One torch thread. Rows are appended; a rerun skips what is there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from isotropic_bench import TRUTH, load, run_net, view_metrics  # noqa: E402
from profile_estimators import VARIANTS  # noqa: E402

from dualsr.isotropic.blocks import output_planes  # noqa: E402
from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import estimate_profile  # noqa: E402
from dualsr.isotropic.interpolate import bspline_axis  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402
from dualsr.isotropic.train import TrainSettings  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--volumes", default="mni,synthetic")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    p.add_argument("--factors", default="4,2,3,5.5")
    p.add_argument("--variants", default="slab")
    p.add_argument("--steps", type=int, default=TrainSettings.steps)
    p.add_argument("-o", "--out", default="profile_psnr.jsonl")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {(r["volume"], r["factor"], r["variant"]) for r in map(json.loads, out.read_text().splitlines())}
    settings = TrainSettings(steps=args.steps)
    for name in args.volumes.split(","):
        volume = load(name, args.size)
        for factor in (float(f) for f in args.factors.split(",")):
            shape, rel = TRUTH[name]
            truth = named(shape, rel * factor)
            lr = degrade_axis(volume, 0, factor, truth)
            n_out = output_planes(lr.shape[0], factor)
            gt = volume[:n_out]
            base = view_metrics(bspline_axis(lr, factor)[:n_out], gt, factor)
            for variant in args.variants.split(","):
                if (name, factor, variant) in done:
                    continue
                options = dict(VARIANTS[variant])
                if options.pop("shape", False):
                    options["powers"] = (truth.power,)
                profile = estimate_profile(lr.astype(np.float32), factor, **options).profile
                result, times = run_net(lr, factor, profile, settings)
                views = view_metrics(result[:n_out], gt, factor)
                row = {"volume": name, "factor": factor, "variant": variant, "fwhm": profile.fwhm}
                row.update(shape=profile.shape, error=profile.fwhm / truth.fwhm - 1, views=views, bspline=base)
                row["gain"] = {v: views[v]["psnr"] - base[v]["psnr"] for v in views}
                row.update(times)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(name, factor, variant, round(row["error"], 3), {v: round(g, 2) for v, g in row["gain"].items()})


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
