"""How far apart are two methods' errors? Score their stored x2 results and the average of both.

Two estimates whose errors are unrelated average to a better one; if the average of the noise
model (`fast`) and denoise-first (`denoise_fast`) beats both, a product path carrying both would
pay. Reads the result images a `dualsr bench` run stored; trains nothing.

    python benchmarks/studies/noise/blend_runs.py out/np300/set out/v_p300 fast denoise_fast
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np

from dualsr.evaluation.bench import evaluate, run_dir
from dualsr.evaluation.sets import load_cases
from dualsr.io.files import read_image


def stored(out: Path, case: str, method: str) -> np.ndarray:
    (path,) = [p for p in run_dir(out, case).glob(f"{glob.escape(method)}.*") if p.suffix in (".png", ".tif")]
    return read_image(path).data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="the set folder (gt/, lr_x2/)")
    parser.add_argument("out", type=Path, help="the bench output folder holding both methods' runs")
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    rows = []
    for case in load_cases(args.set):
        try:
            a, b, bic = (stored(args.out, case.name, m) for m in (args.a, args.b, "bicubic"))
        except ValueError:
            continue  # a method has not run on this image
        mean = np.round((a.astype(np.float64) + b) / 2).astype(a.dtype)
        scores = [evaluate(case, x, None)["psnr"] for x in (bic, a, b, mean)]
        rows.append(scores)
        print(f"{case.name:22s} " + "  ".join(f"{s:6.2f}" for s in scores))
    if rows:
        m = np.mean(rows, axis=0)
        gains = "  ".join(f"{g:+6.2f}" for g in m[1:] - m[0])
        print(f"mean gain over bicubic: {args.a}, {args.b}, their average: {gains} ({len(rows)} images)")


if __name__ == "__main__":
    main()
