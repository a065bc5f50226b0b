"""What the cross-scale check costs at inference: the same fast upsampler with and without it.

    OMP_NUM_THREADS=1 python benchmarks/studies/inference/crossscale_cost.py --size 1024 --repeats 3

Trains the ``fast`` preset briefly on a noise-free LR (scikit-image's camera blurred and
downscaled, so the noise model stays off and the check is on; the weights do not matter for
time), then times the whole x2 of a ``size``-square image through torch
(``DualSRResult.upsample``) and onnxruntime (``OnnxUpsampler``), alternating with and without the
check. Prints medians and the ratio; the check also widens the tiles' margin (printed).
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
from ensemble_cost import report, time_side_by_side  # benchmarks/, beside this script
from skimage import data

from dualsr import train
from dualsr.config import preset
from dualsr.evaluation.degrade import degrade
from dualsr.inference.tiling import model_margin
from dualsr.paper.kernel import gaussian_kernel, prepare_known_kernel


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    camera = (degrade(data.camera() / 255.0, prepare_known_kernel(gaussian_kernel(13, 1.5, 1.5, 0.0))) * 255).round()
    camera = camera.clip(0, 255).astype(np.uint8)  # 256 x 256, noise-free
    checked = train(camera, config=preset("fast", iterations=3))
    assert checked.upsampler.check is not None, "the noise model came on: no cross-scale check to time"
    plain = copy.copy(checked)
    plain.upsampler = copy.deepcopy(checked.upsampler)
    plain.upsampler.check = None
    plain.detail = None
    print(f"tile margin (LR px): without {model_margin(plain.upsampler)}, with {model_margin(checked.upsampler)}")
    image = np.tile(camera, (args.size // 256 + 1, args.size // 256 + 1))[: args.size, : args.size]
    report(time_side_by_side({"without": plain, "with the check": checked}, image, args.repeats), args.size)


if __name__ == "__main__":
    main()
