"""Cameras of softly focused scenes: sets, and what ``auto`` decides on them beside DIV2KRK-style blurs.

    python benchmarks/soft_optics.py OUT                      # the sets under OUT, then the decision table
    python benchmarks/soft_optics.py OUT --sigmas 1 --images camera,astronaut
    dualsr bench OUT/soft1/set -o RES --methods bicubic,fast --threads 1    # the PSNR, per set

The camera-binned sets (``dualsr bench skimage --acquisition camera``) take scikit-image's photos as they
are: sharp to their pixels, so their 2x2 binning keeps energy up to its Nyquist frequency and ``auto``
sees a camera. A real lens is softer than its pixels more often than not. Here each photo is first
blurred by a round Gaussian of ``sigma`` HR pixels (the optics; the HR keeps it, as a camera with pixels
half as wide would record it), then binned 2x2 (``softS/set``). Beside them, the same photos under
DIV2KRK-style random kernels with three seeds (``blurN/set``, as ``dualsr degrade --seed N``). From the LR
alone a round optical blur and a digital blur are the same image; the table counts, per set, how
``auto`` decides (camera, ambiguous blurs taken for optics apart; blur, unsettled estimates and decisions
split between the image's halves apart: all three say *kernel uncertain*) and the eigenvalue ratio of the
blind estimate.
docs/benchmarks.md, "Optics the image cannot tell from a blur".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage

from dualsr.evaluation.sets import HELD_OUT_IMAGES, SKIMAGE_IMAGES, degrade_image, skimage_image, to_unit, write_case
from dualsr.kernels.acquisition import axes_ratio, decide
from dualsr.kernels.spectral import estimate_kernel, nyquist_energy

SIGMAS = (0.7, 1.0, 1.5, 2.0, 3.0)  # HR pixels: 0.35-1.5 LR pixels
SEEDS = (1, 2, 3)
SIZE = 384


def soften(image: np.ndarray, sigma: float) -> np.ndarray:
    """A round Gaussian blur of ``sigma`` pixels over Y and X (not colour), in the image's dtype."""
    sig = (sigma, sigma, 0) if image.ndim == 3 else sigma
    out = ndimage.gaussian_filter(image.astype(np.float64), sig)
    if np.issubdtype(image.dtype, np.integer):
        out = np.clip(np.round(out), np.iinfo(image.dtype).min, np.iinfo(image.dtype).max)
    return out.astype(image.dtype)


def make_sets(
    out: Path, names: list[str], sigmas: tuple[float, ...], seeds: tuple[int, ...]
) -> dict[str, list[tuple[str, float]]]:
    """Write the sets under ``out``; per set, ``auto``'s :func:`decision` on each LR as written."""
    decided = {}
    for label, acquisition, sigma, seed in [(f"soft{s:g}", "camera", s, 0) for s in sigmas] + [
        (f"blur{n}", "gaussian-blur", 0.0, n) for n in seeds
    ]:
        decided[label] = []
        for name in sorted(names):  # the file order the table was first read in
            hr = skimage_image(name)
            hr = soften(hr, sigma) if sigma else hr
            hr, lr, kernel, _ = degrade_image(hr, name, seed=seed, size=SIZE, acquisition=acquisition)
            write_case(out / label / "set", name, hr, lr, kernel)
            decided[label].append(decision(lr))
    return decided


def decision(lr: np.ndarray) -> tuple[str, float]:
    """``auto``'s model for one LR and the estimate's axes ratio. The model is ``camera``, ``camera, ambiguous``
    (a blur between round and elongated taken for optics, said), ``blur, not settled`` (the estimate's own checks
    failed: said *kernel uncertain*), ``blur, split`` (one half of the image reads as optics: said) or ``blur``
    (silent)."""
    unit, _ = to_unit(lr)
    channels = unit[None] if unit.ndim == 2 else np.moveaxis(unit, -1, 0)
    estimate = estimate_kernel(channels)
    made = decide("auto", estimate, None, nyquist_energy(channels))
    if made.model == "camera":
        model = "camera, ambiguous" if made.ambiguous else "camera"
    else:
        model = "blur, split" if made.split else "blur" if estimate.settled else "blur, not settled"
    return model, axes_ratio(estimate.covariance)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--images", default="", help="comma-separated scikit-image names (default: all 19)")
    p.add_argument("--sigmas", default=",".join(f"{s:g}" for s in SIGMAS), help="optics, HR pixels")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="DIV2KRK-style sets' seeds")
    args = p.parse_args()
    names = [n for n in args.images.split(",") if n] or [n for n in SKIMAGE_IMAGES + HELD_OUT_IMAGES if n != "cat"]
    sigmas = tuple(float(s) for s in args.sigmas.split(",") if s)
    seeds = tuple(int(s) for s in args.seeds.split(",") if s)
    print(
        "| set | truth | images | camera | camera, ambiguous | blur, not settled | blur, halves split | blur, silent "
        "| axes (min-max) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, rows in make_sets(args.out, names, sigmas, seeds).items():
        models = ("camera", "camera, ambiguous", "blur, not settled", "blur, split", "blur")
        count = {m: sum(r[0] == m for r in rows) for m in models}
        ratios = [r[1] for r in rows]
        truth = "camera, optics kept" if label.startswith("soft") else "digital blur"
        print(
            f"| {label} | {truth} | {len(rows)} | {count['camera']} | {count['camera, ambiguous']} "
            f"| {count['blur, not settled']} | {count['blur, split']} | {count['blur']} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
