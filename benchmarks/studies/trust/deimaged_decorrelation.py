"""Does decorrelation see new detail in a x2, or the interpolation's spectral images?

A x2 made by any linear interpolator of the LR (bicubic, Lanczos, a learned linear filter) holds,
above the LR's Nyquist frequency, only images of the LR's own spectrum: copies, not detail. A
faithful decorrelation reads them as structure (bicubic of a sharp LR: kc 0.8 on the x2 grid). The
de-imaged x2 keeps the x2's own spectrum up to the LR's Nyquist and, above it, only what no linear
interpolator of the LR (a least-squares fit, ``TAPS`` x ``TAPS`` LR pixels per output phase) explains.

For each image of a saved ``benchmarks/trust.py --save`` run: kc of the x2 and of bicubic, plain and
de-imaged (the readout's kc, :mod:`dualsr.trust.readout`), and of the HR itself (the perfect x2)
de-imaged against the same LR; whether the readout (:mod:`dualsr.trust.readout`) says "gained" for the x2, for
bicubic and for the HR.
Usage: python benchmarks/studies/trust/deimaged_decorrelation.py SET SAVED [--images a,b]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dualsr.evaluation.sets import load_cases
from dualsr.trust.readout import gained, readout
from dualsr.trust.resolution import decorrelation

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for trust.py's helpers
from trust import grey  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("saved", type=Path, help="a trust.py --save folder (x2 and bicubic per image)")
    parser.add_argument("--images", default="")
    args = parser.parse_args(argv)
    wanted = set(filter(None, args.images.split(",")))
    print(
        "| image | kc LR | x2: plain / de-imaged | bicubic: plain / de-imaged "
        "| HR: plain / de-imaged | 'gained': x2 / bicubic / HR |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for case in load_cases(args.set):
        if wanted and case.name not in wanted:
            continue
        saved = np.load(args.saved / f"{case.name}.npz")
        rng = case.data_range
        lr = grey(case.lr, rng)
        row, said = [f"{decorrelation(lr).kc / 2:.2f}"], []
        for x in (saved["x2"], saved["bicubic"], case.hr):
            g = grey(x, rng)
            measured = readout(lr, g)
            row.append(f"{decorrelation(g).kc:.2f} / {measured['x2_kc']:.2f}")
            said.append("yes" if gained(measured) else "no")
        print(f"| {case.name} | " + " | ".join(row) + f" | {' / '.join(said)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
