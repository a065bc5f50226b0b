"""What does "N % of the image in doubt" mean? The doubt level against the true error.

The verdict counts the x2's pixels whose doubt exceeds ``DOUBT_LEVEL`` (a fraction of the range). For
each saved ``benchmarks/trust.py --save`` run (the doubt map and |x2 - HR| of every image) and each
candidate level: the share of pixels in doubt; of those, the share whose true error (at the data's
resolution, smoothed as the map is) exceeds 1 % and 2 % of the range (precision: how often "in doubt"
is a real error); and the share of the pixels with such an error that are in doubt (recall: how much
of the real error the count catches), beside the share of pixels with that error at all (chance).
Usage: python benchmarks/studies/trust/doubt_level.py SAVED [SAVED ...] [--levels 0.005,0.01,0.02,0.04]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dualsr.trust.doubt import DOUBT_LEVEL

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for trust.py's helpers
from trust import resolution_scaled, shaved  # noqa: E402

ERRORS = (0.01, 0.02)  # true errors, as fractions of the range, that count as "a real error"


def pixels(saved: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every image's doubt and smoothed true error, border shaved, pooled."""
    doubt, error = [], []
    for path in sorted(saved.glob("*.npz")):
        s = np.load(path)
        doubt.append(shaved(s["doubt"]).ravel())
        error.append(shaved(resolution_scaled(s["error"])).ravel())
    if not doubt:
        raise SystemExit(f"error: no .npz in {saved}; make them with benchmarks/trust.py --save")
    return np.concatenate(doubt), np.concatenate(error)


def row(run: str, level: float, doubt: np.ndarray, error: np.ndarray) -> str:
    flagged = doubt > level
    shipped = " (shipped)" if level == DOUBT_LEVEL else ""
    cells = [run, f"{100 * level:g} %{shipped}", f"{100 * flagged.mean():.1f}"]
    for e in ERRORS:
        real = error > e
        precision = real[flagged].mean() if flagged.any() else float("nan")
        recall = flagged[real].mean() if real.any() else float("nan")
        cells.append(f"{100 * precision:.0f} / {100 * recall:.0f} / {100 * real.mean():.0f}")
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("saved", nargs="+", type=Path, help="trust.py --save folders (one per set)")
    parser.add_argument("--levels", default="0.005,0.01,0.02,0.04", help="doubt levels, fractions of the range")
    args = parser.parse_args(argv)
    levels = [float(v) for v in args.levels.split(",")]
    heads = " | ".join(f"error > {100 * e:g} %: precision / recall / chance" for e in ERRORS)
    print(f"| run | doubt level | pixels in doubt (%) | {heads} |")
    print("| --- | --- | ---: |" + " ---: |" * len(ERRORS))
    for saved in args.saved:
        doubt, error = pixels(saved)
        for level in levels:
            print(row(str(saved), level, doubt, error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
