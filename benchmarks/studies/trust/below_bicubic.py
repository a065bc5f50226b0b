"""Can one number per image tell the x2s that are worse than bicubic, without the HR?

The doubt map is in units of the image's range and follows the x2's absolute error, so a smooth image
over-sharpened far below bicubic (a small absolute error against bicubic's near-perfect one) keeps a
low mean doubt. This study measures that and two relative measures, per image of saved
``benchmarks/trust.py --save`` runs:

- **mean doubt**, the map's mean (what trust.py ranks);
- **doubt / loss**: mean doubt over bicubic's loss one scale down (|bicubic x2 of the LR's bicubic
  half - the LR|, mean): doubt measured against what interpolation itself loses on this image;
- **detail / loss**: the x2's departure from bicubic over the same loss: how much detail the x2 adds
  against what an interpolation of this image misses one scale down (self-similarity, the premise of
  DualSR, says the two should be alike); and the same for the HR (the perfect x2's detail / loss):
  what a right answer reads, whichever way the image was made;
- **spectral excess**: the x2's power above the LR's Nyquist (``BAND``, cycles per x2 pixel) over the
  power law fitted to the x2's own radial spectrum below it (``FIT``), log10, averaged over the band: an
  x2 that draws sharp what the scene holds soft (brick's mortar) carries more fine detail than its own
  spectrum predicts; and the same for the HR (what a right answer reads);
- **doubt / detail**: mean doubt over the x2's departure from bicubic: how much of what the x2 added may be
  wrong (a x2 is below bicubic where its error is large along what it added).

For each measure: how often an image below bicubic outranks one above it (the area under the ROC
curve; 0.5 is chance) and how many images below bicubic are in the top quartile, within each run and
pooled over all the runs given.
Usage: python benchmarks/studies/trust/below_bicubic.py SET=SAVED [SET=SAVED ...] [--images a,b]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dualsr.evaluation.metrics import sr_metrics
from dualsr.evaluation.sets import load_cases
from dualsr.paper.resize import bicubic_resize_np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for trust.py's helpers
from trust import grey, separation, shaved  # noqa: E402

MEASURES: dict[str, Callable[[dict], float]] = {
    "mean doubt": lambda r: r["doubt"],
    "doubt / loss": lambda r: r["doubt"] / r["loss"],
    "detail / loss": lambda r: r["detail"] / r["loss"],
    "spectral excess": lambda r: r["excess"],
    "doubt / detail": lambda r: r["doubt"] / max(r["detail"], 1e-9),
}
FIT = (0.06, 0.2)  # cycles per x2 pixel: the LR's 0.12-0.4, below its Nyquist
BAND = (0.26, 0.42)  # above the LR's Nyquist (0.25), below the x2's own band edge


def radial_power(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (cycles per pixel, 64 rings) and the mean power in each; Hann window, mean removed."""
    h, w = image.shape
    spectrum = np.fft.fft2((image - image.mean()) * np.outer(np.hanning(h), np.hanning(w)))
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")).ravel()
    ring = np.minimum((k / 0.5 * 64).astype(int), 64)
    power = np.bincount(ring, np.abs(spectrum.ravel()) ** 2, 65) / np.maximum(np.bincount(ring, minlength=65), 1)
    return (np.arange(64) + 0.5) / 128, power[:64]


def spectral_excess(image: np.ndarray) -> float:
    """log10 of the power in ``BAND`` over the power law fitted in ``FIT``, averaged over the band's rings."""
    k, p = radial_power(image)
    fit, band = (k >= FIT[0]) & (k <= FIT[1]) & (p > 0), (k >= BAND[0]) & (k <= BAND[1]) & (p > 0)
    if fit.sum() < 2 or not band.any():  # a flat image has no spectrum to extrapolate
        return 0.0
    slope, offset = np.polyfit(np.log10(k[fit]), np.log10(p[fit]), 1)
    return float(np.mean(np.log10(p[band]) - (offset + slope * np.log10(k[band]))))


def loss_below(lr: np.ndarray) -> float:
    """Mean |bicubic x2 of the LR's bicubic half - the LR|: what interpolation loses one scale down."""
    half = bicubic_resize_np(lr, 0.5)
    back = bicubic_resize_np(half, 2.0)[: lr.shape[0], : lr.shape[1]]
    return max(float(np.abs(shaved(back - lr[: back.shape[0], : back.shape[1]])).mean()), 1e-9)  # flat: no loss


def measure(folder: Path, saved: Path, names: list[str] | None) -> list[dict]:
    rows = []
    for case in load_cases(folder, names=names):
        s = np.load(saved / f"{case.name}.npz")
        rng = case.data_range
        gain = sr_metrics(s["x2"], case.hr, 2, rng)["psnr"] - sr_metrics(s["bicubic"], case.hr, 2, rng)["psnr"]
        bicubic = grey(s["bicubic"], rng)
        detail = float(np.abs(shaved(grey(s["x2"], rng) - bicubic)).mean())
        rows.append(
            {
                "run": str(saved),
                "name": case.name,
                "gain": gain,
                "doubt": float(shaved(s["doubt"]).mean()),
                "loss": loss_below(grey(case.lr, rng)),
                "detail": detail,
                "truth": float(np.abs(shaved(grey(case.hr, rng) - bicubic)).mean()),
                "excess": spectral_excess(grey(s["x2"], rng)),
                "excess_hr": spectral_excess(grey(case.hr, rng)),
            }
        )
    return rows


def ranking(rows: list[dict], label: str) -> list[str]:
    below = np.array([r["gain"] < 0 for r in rows])
    lines = []
    for name, f in MEASURES.items():
        values = np.array([f(r) for r in rows])
        top = values >= np.quantile(values, 0.75)
        auc = separation(list(values[below]), list(values[~below]))
        lines.append(
            f"| {label} | {name} | {'–' if auc is None else f'{auc:.2f}'} "
            f"| {int(np.sum(top & below))} of {int(np.sum(below))} (the quartile holds {int(np.sum(top))}) |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="SET=SAVED: a set folder and its trust.py --save folder")
    parser.add_argument("--images", default="", help="comma-separated image names (default: all)")
    args = parser.parse_args(argv)
    names = list(filter(None, args.images.split(","))) or None
    runs = [measure(Path(a), Path(b), names) for a, b in (run.split("=", 1) for run in args.runs)]
    print(
        "| run | image | x2 - bicubic (dB) | mean doubt | loss below | detail | doubt / loss | detail / loss "
        "| HR's detail / loss | spectral excess | HR's |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in (r for rows in runs for r in rows):
        print(
            f"| {r['run']} | {r['name']} | {r['gain']:+.2f} | {r['doubt']:.4f} | {r['loss']:.4f} | {r['detail']:.4f} "
            f"| {r['doubt'] / r['loss']:.2f} | {r['detail'] / r['loss']:.2f} | {r['truth'] / r['loss']:.2f} "
            f"| {r['excess']:+.2f} | {r['excess_hr']:+.2f} |"
        )
    print("\n| runs | measure | below ranked over above (AUC) | below bicubic in the top quartile |")
    print("| --- | --- | ---: | --- |")
    for rows in runs:
        print("\n".join(ranking(rows, rows[0]["run"] if rows else "-")))
    if len(runs) > 1:
        print("\n".join(ranking([r for rows in runs for r in rows], "pooled")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
