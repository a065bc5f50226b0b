"""Where does noise start to matter? The measurements behind ``dualsr.noise.estimate.NOISY_THRESHOLD``.

    python benchmarks/studies/noise/noise_threshold.py            # both tables (about 2 min on one core)

1. What clean images read: scikit-image's bundled images as they are (8-bit) and as the
   benchmark's LR (384-pixel detail crop, DIV2KRK-style kernel, x2 down), and the bundled sample.
2. Noise added to the benchmark's 8 LR images (Gaussian sigma, Poisson peaks): the level read,
   and denoise (``dualsr.noise.denoise``, non-local means) + bicubic against bicubic, scored against
   the clean HR as ``dualsr bench`` does. The threshold sits where denoising starts to pay.
"""

from __future__ import annotations

import argparse

import numpy as np

from dualsr.evaluation.metrics import sr_metrics
from dualsr.evaluation.sets import SKIMAGE_IMAGES, degrade_image, from_unit, skimage_image, to_unit
from dualsr.io.sample import sample_hr, sample_lr
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import estimate_noise
from dualsr.paper.resize import bicubic_resize_np

SET = ("astronaut", "camera", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "moon", "rocket")
NOISES = [("none", 0.0, None)]
NOISES += [(f"gaussian {s:.1%}", s, None) for s in (0.005, 0.01, 0.02, 0.03, 0.04, 0.06)]
NOISES += [(f"poisson {p}", 0.0, float(p)) for p in (10000, 3000, 1000, 300)]


def channel_axis(image: np.ndarray) -> int | None:
    return -1 if image.ndim == 3 else None


def clean_levels(names: tuple[str, ...] = SKIMAGE_IMAGES, size: int = 384) -> None:
    print(f"| image | as bundled | benchmark LR ({size} crop, x2 down) |\n| --- | ---: | ---: |")
    for name in names:
        image = skimage_image(name)
        _, lr, _, _ = degrade_image(image, name, size=size, crop="detail")
        whole = estimate_noise(image, channel_axis(image))
        small = estimate_noise(lr, channel_axis(lr))
        print(f"| {name} | {whole.level:.2%} ({whole.model}) | {small.level:.2%} ({small.model}) |")
    for label, image in (("bundled sample LR", sample_lr().data), ("bundled sample HR", sample_hr().data)):
        e = estimate_noise(image)
        print(f"| {label} | {e.level:.2%} ({e.model}) | |")


def bicubic_psnr(lr: np.ndarray, hr: np.ndarray) -> float:
    unit, r = to_unit(lr)
    sr = from_unit(bicubic_resize_np(unit, 2.0), lr.dtype, r)
    return sr_metrics(sr, hr, 2, r)["psnr"]


def crossover(names: tuple[str, ...] = SET, size: int = 384) -> None:
    print("\n| noise added to the LR | level read (mean, min-max) | denoise + bicubic vs bicubic | worst | best |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, sigma, peak in NOISES:
        levels, gains = [], []
        for name in names:
            hr, lr, _, _ = degrade_image(
                skimage_image(name), name, size=size, crop="detail", noise_gaussian=sigma, noise_poisson=peak
            )
            noise = estimate_noise(lr, channel_axis(lr))
            levels.append(noise.level)
            denoised = denoise(lr, noise, channel_axis=channel_axis(lr))
            gains.append(bicubic_psnr(denoised, hr) - bicubic_psnr(lr, hr))
        print(
            f"| {label} | {np.mean(levels):.2%} ({min(levels):.2%}-{max(levels):.2%}) | {np.mean(gains):+.2f} dB "
            f"| {min(gains):+.2f} | {max(gains):+.2f} |",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", help="comma-separated names for both tables (default: all bundled, then the set's 8)")
    p.add_argument("--size", type=int, default=384, help="the benchmark LR's HR crop side (default 384)")
    args = p.parse_args()
    names = tuple(args.images.split(",")) if args.images else None
    clean_levels(names or SKIMAGE_IMAGES, args.size)
    crossover(names or SET, args.size)


if __name__ == "__main__":
    main()
