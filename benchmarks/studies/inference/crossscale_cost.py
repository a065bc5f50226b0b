"""What the cross-scale check costs at inference: the same fast upsampler with and without it.

    OMP_NUM_THREADS=1 python benchmarks/studies/inference/crossscale_cost.py --size 1024 --repeats 3

Trains the ``fast`` preset briefly on a noise-free LR (scikit-image's camera blurred and
downscaled, so the noise model stays off and the check is on; the weights do not matter for
time), then times the whole x2 of a ``size``-square image through torch
(``DualSRResult.upsample``) and onnxruntime (``OnnxUpsampler``), alternating with and without the
check. Prints medians and the ratio; the check also widens the tiles' margin (printed).
"""

from __future__ import annotations

import copy

from backprojection_cost import arguments, noise_free_camera, tiled  # beside this script
from ensemble_cost import report, time_side_by_side

from dualsr import train
from dualsr.config import preset
from dualsr.inference.tiling import model_margin


def main() -> None:
    args = arguments(__doc__)
    camera = noise_free_camera()
    checked = train(camera, config=preset("fast", iterations=3))
    assert checked.upsampler.check is not None, "the noise model came on: no cross-scale check to time"
    plain = copy.copy(checked)
    plain.upsampler = copy.deepcopy(checked.upsampler)
    plain.upsampler.check = None
    plain.detail = None
    print(f"tile margin (LR px): without {model_margin(plain.upsampler)}, with {model_margin(checked.upsampler)}")
    report(
        time_side_by_side({"without": plain, "with the check": checked}, tiled(camera, args.size), args.repeats),
        args.size,
    )


if __name__ == "__main__":
    main()
