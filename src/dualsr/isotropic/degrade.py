"""The through-plane acquisition model: blur along one axis by the slice profile, sample every f.

Slice ``i`` of a stack with factor ``f`` (Z step / in-plane pixel, any real number >= 1)
sits at output plane ``i*f + (f-1)/2``: the centre of the ``f`` output planes it covers,
the same rule as the x2 placement in Y/X. The slice's value is the profile centred
there, averaged over each output plane (:meth:`SliceProfile.weights`), so the slice
thickness (the profile's FWHM) and the step (``f``) are independent: gaps and overlaps
are both expressible. Edges repeat the outermost plane.
"""

from __future__ import annotations

import numpy as np

from dualsr.isotropic.profile import SliceProfile


def slice_centre(i: np.ndarray | int, factor: float) -> np.ndarray | float:
    """Output-plane coordinate of slice ``i``."""
    return np.asarray(i) * factor + (factor - 1) / 2


def slices_for(length: int, factor: float) -> int:
    """How many slices a stack of ``length`` output planes yields (all fully inside)."""
    return max(int(np.floor(length / factor + 1e-9)), 1)


def output_length(slices: int, factor: float) -> int:
    """Output planes for ``slices`` slices: ``round(slices * f)``, the same extent in Z."""
    return max(int(round(slices * factor)), 1)


def degradation_matrix(length: int, factor: float, profile: SliceProfile, slices: int | None = None) -> np.ndarray:
    """``(slices, length)``: row ``i`` is slice ``i``'s weights over the ``length`` planes (rows sum to 1)."""
    n = slices_for(length, factor) if slices is None else slices
    m = np.zeros((n, length))
    for i in range(n):
        first, w = profile.weights(float(slice_centre(i, factor)))
        idx = np.clip(np.arange(first, first + len(w)), 0, length - 1)
        np.add.at(m[i], idx, w)
    return m


def interior_matrix(length: int, factor: float, profile: SliceProfile, slices: int, offset: int) -> np.ndarray:
    """``(slices, length)`` weights of slices placed ``offset`` planes in (no edge: all inside).

    Slice ``i`` sits at ``offset + i*f + (f-1)/2``; an integer ``offset`` keeps the slices'
    positions on the grid as they are in the stack. Raises if a profile reaches past the ends.
    """
    m = np.zeros((slices, length))
    for i in range(slices):
        first, w = profile.weights(offset + float(slice_centre(i, factor)))
        if first < 0 or first + len(w) > length:
            raise ValueError("a slice's profile reaches past the planes given")
        m[i, first : first + len(w)] = w
    return m


def degrade_axis(volume: np.ndarray, axis: int, factor: float, profile: SliceProfile) -> np.ndarray:
    """``volume`` acquired along ``axis`` with step ``factor`` and this slice profile (float64)."""
    m = degradation_matrix(volume.shape[axis], factor, profile)
    out = np.tensordot(m, np.moveaxis(volume.astype(np.float64), axis, 0), axes=(1, 0))
    return np.moveaxis(out, 0, axis)
