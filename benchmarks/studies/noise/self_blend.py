"""The two-path average without a second training: the noise model's own G_UP applied to the
denoised LR too, and the two x2 images averaged (the denoiser would still have to be in every
apply path). Scores G_UP(x), G_UP(denoise(x)) and their average against the set's HR.

    python benchmarks/studies/noise/self_blend.py out/np300/set astronaut,camera,moon
    python benchmarks/studies/noise/self_blend.py out/sample_noisy tissue
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.evaluation.bench import evaluate
from dualsr.evaluation.sets import load_cases
from dualsr.inference.upsampler import upsample
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import estimate_noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="a set folder (gt/, lr_x2/)")
    parser.add_argument("images", help="comma-separated image names")
    parser.add_argument("--iterations", type=int, help="training steps (default: the fast preset's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for case in load_cases(args.set, 2, args.images.split(",")):
        channel_axis = -1 if case.lr.ndim == 3 else None
        result = train(case.lr, config=preset("fast", iterations=args.iterations))
        clean = denoise(case.lr, estimate_noise(case.lr, channel_axis), channel_axis=channel_axis)
        plain, on_clean = result.image, upsample(result.upsampler, clean, norm=result.normalization)
        mean = np.round((plain.astype(np.float64) + on_clean) / 2).astype(plain.dtype)
        scores = "  ".join(f"{evaluate(case, x, None)['psnr']:.2f}" for x in (plain, on_clean, mean))
        print(f"{case.name}: G_UP(x), G_UP(denoised x), their average: {scores} dB", flush=True)


if __name__ == "__main__":
    main()
