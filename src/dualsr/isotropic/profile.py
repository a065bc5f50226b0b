"""The slice profile: how one acquired slice weighs the object along Z.

A thin-slice MRI sequence, a confocal section or a light sheet each record, at every slice
position, a weighted average of the object along Z. That weighting is the slice profile.
It is kept here as a continuous function sampled finely (``FINE`` samples per in-plane
pixel) so that it can be centred anywhere: with a non-integer factor the slices fall
between the output grid's planes, and the weights of every output plane for every slice
come from the same function.

Units are in-plane pixels (the output's Z spacing) throughout; FWHM in physical units is
the caller's conversion.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dualsr.errors import DualSRInputError

FINE = 32  # samples of the continuous profile per in-plane pixel
SHAPES = ("gaussian", "rect")
SHAPE_POWER = {"gaussian": 2.0, "rect": 40.0}  # generalised Gaussian exponent of the named shapes


@dataclass(frozen=True)
class SliceProfile:
    """A symmetric 1-D profile on a fine grid (``FINE`` per pixel, centred), area 1.

    ``shape`` and ``power`` say how it was made: the generalised Gaussian
    ``exp(-ln2 * |2t / fwhm| ** power)`` (2: Gaussian; large: a rectangle of width FWHM),
    or ``"samples"`` for one given as a file.
    """

    fine: np.ndarray
    shape: str = "gaussian"
    power: float = 2.0

    @property
    def radius(self) -> float:
        """Half the support in pixels (where the fine samples end)."""
        return (len(self.fine) - 1) / 2 / FINE

    @property
    def fwhm(self) -> float:
        """Full width at half maximum in pixels, read off the fine samples (linear between them)."""
        f = self.fine / self.fine.max()
        above = np.nonzero(f >= 0.5)[0]
        lo, hi = above[0], above[-1]
        left = lo - (f[lo] - 0.5) / (f[lo] - f[lo - 1]) if lo > 0 else float(lo)
        right = hi + (f[hi] - 0.5) / (f[hi] - f[hi + 1]) if hi < len(f) - 1 else float(hi)
        return float(right - left) / FINE

    @property
    def rms_width(self) -> float:
        """Root-mean-square width in pixels: how far the profile reaches, whatever its shape (a box one Z step
        ``f`` thick: ``f / sqrt(12)``)."""
        t = (np.arange(len(self.fine)) - (len(self.fine) - 1) / 2) / FINE
        return float(np.sqrt(np.sum(self.fine * t * t)))

    def reach(self, step: float) -> float:
        """How far the profile reaches against slices ``step`` pixels thick: its RMS width over such a box's
        (1: as far as the box; above, the slices overlap or carry more blur)."""
        return self.rms_width * math.sqrt(12) / step

    def weights(self, centre: float) -> tuple[int, np.ndarray]:
        """The profile centred at ``centre`` averaged over each pixel: first pixel index and weights.

        Pixel ``j`` spans ``[j - 0.5, j + 0.5]``; the weights sum to 1.
        """
        first = math.floor(centre - self.radius + 0.5)
        last = math.ceil(centre + self.radius - 0.5)
        n = last - first + 1
        # fine sample k sits at t = (k - mid) / FINE relative to the centre
        mid = (len(self.fine) - 1) / 2
        edges = np.arange(n + 1) + first - 0.5  # pixel edges in pixel units
        pos = (edges - centre) * FINE + mid  # the same edges in fine-sample units
        cum = np.concatenate([[0.0], np.cumsum(self.fine)])
        # cumulative area at a fractional fine position (each fine sample covers [k - 0.5, k + 0.5])
        area = np.interp(pos + 0.5, np.arange(len(cum)), cum, left=0.0, right=cum[-1])
        w = np.diff(area)
        return first, w / w.sum()

    def to_dict(self) -> dict:
        return {"shape": self.shape, "power": self.power, "fwhm_pixels": round(self.fwhm, 4)}


def generalised(fwhm: float, power: float = 2.0, shape: str | None = None) -> SliceProfile:
    """``exp(-ln2 * |2t / fwhm| ** power)`` with its FWHM in pixels; power 2 is a Gaussian."""
    if not fwhm > 0:
        raise DualSRInputError(f"the slice profile's FWHM must be positive (got {fwhm})")
    # support: where the function falls under 1e-4 of its peak, at least one pixel
    reach = 0.5 * fwhm * (math.log(1e4) / math.log(2)) ** (1 / power)
    half = max(int(math.ceil(reach * FINE)), FINE)
    t = np.arange(-half, half + 1) / FINE
    fine = np.exp(-math.log(2) * np.abs(2 * t / fwhm) ** power)
    names = {v: k for k, v in SHAPE_POWER.items()}
    name = shape or names.get(float(power), f"power {power:g}")
    return SliceProfile(fine / fine.sum(), name, float(power))


def named(shape: str, fwhm: float) -> SliceProfile:
    """A Gaussian or (smooth-edged) rectangular profile of the given FWHM in pixels."""
    if shape not in SHAPE_POWER:
        raise DualSRInputError(f"unknown slice profile shape {shape!r}; use one of {', '.join(SHAPES)}")
    return generalised(fwhm, SHAPE_POWER[shape], shape)


def from_samples(samples: np.ndarray) -> SliceProfile:
    """A profile given as samples one in-plane pixel apart, centred on the middle sample."""
    s = np.asarray(samples, dtype=np.float64).ravel()
    if s.size < 1 or not np.all(np.isfinite(s)) or s.min() < 0 or s.sum() <= 0:
        raise DualSRInputError("a slice profile file holds non-negative numbers (one per in-plane pixel) with sum > 0")
    if s.size % 2 == 0:
        s = np.concatenate([s, [0.0]])  # centre on a sample
    s = np.pad(s, 1)
    x = np.arange(s.size) - (s.size - 1) / 2
    t = np.arange(-(s.size - 1) // 2 * FINE, (s.size - 1) // 2 * FINE + 1) / FINE
    fine = np.interp(t, x, s)
    fine = 0.5 * (fine + fine[::-1])  # the model is symmetric
    return SliceProfile(fine / fine.sum(), "samples", 0.0)


def read_profile(path: str | os.PathLike) -> SliceProfile:
    """A profile file: ``.npy``, or text with one number per line / comma-separated."""
    path = Path(path)
    if not path.is_file():
        raise DualSRInputError(f"{path}: no such profile file; check the path")
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            lines = [ln.split("#", 1)[0] for ln in path.read_text().splitlines()]
            data = np.array([float(v) for v in " ".join(lines).replace(",", " ").split()])
    except (ValueError, OSError) as exc:
        raise DualSRInputError(f"{path.name}: cannot read it as a slice profile ({exc})") from exc
    return from_samples(data)
