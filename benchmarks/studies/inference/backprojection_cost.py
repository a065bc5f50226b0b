"""What back-projection costs at inference: the same fast upsampler with and without it.

    OMP_NUM_THREADS=1 python benchmarks/studies/inference/backprojection_cost.py --size 1024 --repeats 3

Trains the ``fast`` preset briefly on a noise-free LR (scikit-image's camera blurred and
downscaled, so the noise model stays off and the projection takes full steps; the weights do not
matter for time), then
times the whole x2 of a ``size``-square image through torch (``DualSRResult.upsample``) and
onnxruntime (``OnnxUpsampler``), alternating with and without the projection. Prints medians
and the ratio; the projection also widens the tiles' margin (printed).
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
from ensemble_cost import report, time_side_by_side  # benchmarks/, beside this script
from skimage import data
from torch import nn

from dualsr import train
from dualsr.config import preset
from dualsr.evaluation.degrade import degrade
from dualsr.inference.tiling import model_margin
from dualsr.paper.kernel import gaussian_kernel, prepare_known_kernel


def arguments(doc: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args()


def noise_free_camera() -> np.ndarray:
    """scikit-image's camera blurred and downscaled: 256 x 256 uint8, noise-free (the noise model stays off)."""
    camera = (degrade(data.camera() / 255.0, prepare_known_kernel(gaussian_kernel(13, 1.5, 1.5, 0.0))) * 255).round()
    return camera.clip(0, 255).astype(np.uint8)


def tiled(camera: np.ndarray, size: int) -> np.ndarray:
    return np.tile(camera, (size // 256 + 1, size // 256 + 1))[:size, :size]


def main() -> None:
    args = arguments(__doc__)
    camera = noise_free_camera()
    projected = train(camera, config=preset("fast", iterations=3))
    assert projected.upsampler.back_projection, "the noise model came on: no full-step projection to time"
    plain = copy.copy(projected)
    plain.upsampler = copy.deepcopy(projected.upsampler)
    plain.upsampler.projections = nn.ModuleList([nn.Identity() for _ in plain.upsampler.projections])
    print(f"tile margin (LR px): without {model_margin(plain.upsampler)}, with {model_margin(projected.upsampler)}")
    report(
        time_side_by_side(
            {"without": plain, "with back-projection": projected}, tiled(camera, args.size), args.repeats
        ),
        args.size,
    )


if __name__ == "__main__":
    main()
