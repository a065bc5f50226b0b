"""Which denoiser makes the noise model's clean copy: denoising PSNR against the noise-free LR.

The noise model trains G_UP towards a denoised copy of the image (``dualsr.noise.model``), so
the copy's quality bounds what the x2 can reach. This scores each denoiser on the LR of a
``dualsr bench`` set with shot noise added (as ``--noise-poisson`` does, quantised to 8 bit),
against the noise-free LR, all side by side in one run: scikit-image's NLM (the bench's
``denoise + bicubic`` baseline) and NLM refined by 1, 2 (the default) and 3 Wiener passes.
The noise is estimated blind from each image, as the engine does.

    OMP_NUM_THREADS=1 python benchmarks/studies/noise/denoisers.py out/bench384/set --peaks 300 30
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

import dualsr.noise.denoise as dn
from dualsr.evaluation.degrade import add_noise
from dualsr.evaluation.metrics import psnr
from dualsr.evaluation.sets import load_cases
from dualsr.noise.wiener import wiener_refine

PASSES = (1, 2, 3)


def shot_noise_8bit(clean: np.ndarray, peak: float) -> np.ndarray:
    """A uint8 LR with shot noise of ``peak`` photons at full scale, as ``dualsr bench --noise-poisson`` adds it."""
    return np.round(add_noise(clean / 255.0, np.random.default_rng(0), 0.0, peak) * 255).astype(np.uint8)


def score(noisy: np.ndarray, clean: np.ndarray, method: str, passes: int | None = None) -> tuple[float, float]:
    """(PSNR against the noise-free LR, seconds) of one denoiser on one noisy image."""
    dn.wiener_refine = functools.partial(wiener_refine, passes=passes) if passes else wiener_refine
    start = time.perf_counter()
    out = dn.denoise(noisy, channel_axis=-1 if noisy.ndim == 3 else None, method=method)
    dn.wiener_refine = wiener_refine
    return psnr(out.astype(np.float64), clean, 255.0), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="a dualsr bench set folder (its LR images are the noise-free truth)")
    parser.add_argument("names", nargs="*", help="images (default: all)")
    parser.add_argument("--peaks", type=float, nargs="+", default=[300.0, 30.0], help="photons at full scale")
    args = parser.parse_args()
    methods = [("noisy", None, None), ("NLM", "nlm", None)] + [(f"NLM + Wiener ×{p}", "nlm_wiener", p) for p in PASSES]
    print("| image | photons | " + " | ".join(m[0] for m in methods) + " |")
    print("| --- | ---: |" + " ---: |" * len(methods))
    totals: dict[tuple[float, str], list[float]] = {}
    for case in load_cases(args.set, names=args.names or None):
        clean = case.lr.astype(np.float64)
        for peak in args.peaks:
            noisy = shot_noise_8bit(clean, peak)
            cells = []
            for label, method, passes in methods:
                value, seconds = (
                    (psnr(noisy.astype(np.float64), clean, 255.0), 0.0)
                    if method is None
                    else score(noisy, clean, method, passes)
                )
                totals.setdefault((peak, label), []).append(value)
                cells.append(f"{value:.2f}" + (f" ({seconds:.1f} s)" if method else ""))
            print(f"| {case.name} | {peak:g} | " + " | ".join(cells) + " |", flush=True)
    for peak in args.peaks:
        means = [np.mean(totals[(peak, m[0])]) for m in methods]
        print(f"| **mean** | {peak:g} | " + " | ".join(f"**{v:.2f}**" for v in means) + " |")


if __name__ == "__main__":
    main()
