"""The blind slice profile, variants side by side (docs/isotropic.md, "The blind slice profile").

    python benchmarks/studies/isotropic/profile_estimators.py --volumes mni,synthetic --factors 2,3,4,5.5

The benchmark's volumes (benchmarks/isotropic_bench.py) acquired along Z with their true profile,
then :func:`dualsr.isotropic.estimate.estimate_profile` under each variant; one JSON line per
(volume, factor, axis, variant) with the blind FWHM and its error. ``--axes zyx`` also acquires
along Y or X instead of Z (the volume turned so that axis comes first): how much of the error is
the content's own anisotropy. ``--volumes field-powerlaw,field-exp`` are Gaussian random fields
with an isotropic spectrum (power law ``(k + 0.01)^-1.6``, or ``exp(-k / 0.08)``): isotropic by
construction, so what remains there is the method's own error. ``--profiles gaussian:0.6,rect:1``
sets the true profiles (shape: FWHM in Z steps) instead of each volume's benchmark one.
``--volumes beads-40,beads-400`` are sparse stacks, like a bead stack: that many points blurred by an
isotropic Gaussian (sigma 1.2 px) in a 96 x size x size black volume, most lines holding nothing.
``--noise 0.01`` adds Gaussian noise of that standard deviation (of the range) after the acquisition.

Rows of a variant that tries every shape also carry each named shape's best width as its FWHM error
(``alternatives``), the worse one's misfit over the better's (``shape_ratio``) and ``shape_seen``
(that ratio against ``SHAPE_SEEN_RATIO``): where the stack cannot tell a rectangle from a Gaussian.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import TRUTH, load  # noqa: E402

from dualsr.isotropic.degrade import degrade_axis  # noqa: E402
from dualsr.isotropic.estimate import estimate_profile  # noqa: E402
from dualsr.isotropic.profile import named  # noqa: E402

VARIANTS = {
    "lines": {"slab": False},  # in-plane lines taken as Z lines' content (before)
    "slab": {"slab": True},  # in-plane lines as the slabs they are (blurred along Z by the profile)
    "slab-y": {"slab": True, "directions": "y"},
    "slab-x": {"slab": True, "directions": "x"},
    # the shape given (the truth's family), the width blind
    "lines-shape": {"slab": False, "shape": True},
    "slab-shape": {"slab": True, "shape": True},
    # no free gain: the Z lines must hold as much structure as the in-plane ones
    "slab-level": {"slab": True, "free_gain": False},
    "slab-level-shape": {"slab": True, "free_gain": False, "shape": True},
    # the fit restricted to slice frequencies >= 0.15 / 0.25 cycles per slice
    "slab-band15": {"slab": True, "low": 0.15},
    "slab-band25": {"slab": True, "low": 0.25},
    "slab-band25-shape": {"slab": True, "low": 0.25, "shape": True},
}
TURN = {"z": (0, 1, 2), "y": (1, 0, 2), "x": (2, 1, 0)}
FIELDS = {"field-powerlaw": lambda k: (k + 0.01) ** -1.6, "field-exp": lambda k: np.exp(-k / 0.08)}


def field(name: str, size: int, seed: int = 1) -> np.ndarray:
    """A Gaussian random field with the isotropic amplitude spectrum ``FIELDS[name]``, in [0, 1]."""
    rng = np.random.default_rng(seed)
    axes = (np.fft.fftfreq(size), np.fft.fftfreq(size), np.fft.rfftfreq(size))
    k = np.sqrt(sum(a**2 for a in np.meshgrid(*axes, indexing="ij")))
    shape = (size,) * 3
    v = np.fft.irfftn(np.fft.rfftn(rng.standard_normal(shape)) * FIELDS[name](k), shape, axes=(0, 1, 2))
    return (v - v.min()) / (v.max() - v.min())


def beads(count: int, size: int, seed: int = 0) -> np.ndarray:
    """``count`` points blurred by an isotropic Gaussian (sigma 1.2 px), in [0, 1]: a sparse stack."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    volume = np.zeros((96, size, size))
    volume[tuple(rng.integers(0, n, count) for n in volume.shape)] = 1.0
    volume = ndimage.gaussian_filter(volume, 1.2)
    return volume / volume.max()


def make(name: str, size: int) -> np.ndarray:
    if name in FIELDS:
        return field(name, size)
    if name.startswith("beads-"):
        return beads(int(name.split("-")[1]), size)
    return load(name, size)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--volumes", default="mni,synthetic")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    p.add_argument("--factors", default="2,3,4,5.5")
    p.add_argument("--axes", default="z")
    p.add_argument("--variants", default="lines,slab")
    p.add_argument("--profiles", default="", help="true profiles, shape:FWHM in Z steps (default: TRUTH)")
    p.add_argument("--noise", type=float, default=0.0, help="Gaussian noise added after the acquisition (of 1)")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    for name in args.volumes.split(","):
        volume = make(name, args.size)
        profiles = [(a, float(b)) for a, b in (t.split(":") for t in args.profiles.split(",") if t)]
        for axis in args.axes:
            turned = volume.transpose(TURN[axis])
            for factor, (shape, rel) in (
                (float(f), pr) for pr in (profiles or [TRUTH[name]]) for f in args.factors.split(",")
            ):
                truth = named(shape, rel * factor)
                lr = degrade_axis(turned, 0, factor, truth)
                lr = (lr + args.noise * rng.standard_normal(lr.shape)).astype(np.float32)
                for variant in args.variants.split(","):
                    t0 = time.perf_counter()
                    options = dict(VARIANTS[variant])
                    if options.pop("shape", False):
                        options["powers"] = (truth.power,)
                    est = estimate_profile(lr, factor, **options)
                    row = {"volume": name, "factor": factor, "axis": axis, "variant": variant, "truth": shape}
                    row["noise"] = args.noise
                    row.update(truth_fwhm=round(truth.fwhm, 3), fwhm=round(est.profile.fwhm, 3))
                    row.update(shape=est.profile.shape, error=round(est.profile.fwhm / truth.fwhm - 1, 3))
                    if not est.shape_given:  # each named shape's best width, and whether the stack tells them apart
                        alt = est.alternatives
                        row["alternatives"] = {k: round(w / truth.fwhm - 1, 3) for k, (w, _) in alt.items()}
                        misfits = sorted(m for _, m in alt.values())
                        row.update(shape_ratio=round(misfits[1] / misfits[0], 3), shape_seen=est.shape_seen)
                    row["at_edge"] = est.at_edge  # the width cut off by the search's edge (0.25 f or 3 f)
                    row["seconds"] = round(time.perf_counter() - t0, 2)
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
