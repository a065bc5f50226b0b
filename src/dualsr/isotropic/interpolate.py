"""Cubic B-spline interpolation along one axis at the slice-centre positions: the baseline.

This is what "resample to isotropic" does in most tools (``scipy.ndimage.zoom(order=3)``,
ITK's B-spline resampler): an interpolating cubic B-spline through the slices, evaluated
at every output plane. Here it uses the same geometry as the upsampler (slice ``i`` at
output plane ``i*f + (f-1)/2``), so the two can be compared plane by plane.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _bspline3(t: np.ndarray) -> np.ndarray:
    a = np.abs(t)
    return np.where(a < 1, 2 / 3 - a**2 + a**3 / 2, np.where(a < 2, (2 - a) ** 3 / 6, 0.0))


def _mirror(k: np.ndarray, n: int) -> np.ndarray:
    """scipy's ``mirror`` boundary (d c b | a b c d | c b a) for indices anywhere."""
    if n == 1:
        return np.zeros_like(k)
    period = 2 * (n - 1)
    k = np.mod(k, period)
    return np.where(k >= n, period - k, k)


def bspline_matrix(n_in: int, factor: float, n_out: int | None = None) -> np.ndarray:
    """``(n_out, n_in)`` weights applied to the B-spline coefficients of ``n_in`` slices."""
    n_out = int(np.floor(n_in * factor + 1e-6)) if n_out is None else n_out
    pos = (np.arange(n_out) - (factor - 1) / 2) / factor  # output plane -> slice coordinate
    base = np.floor(pos).astype(int)
    m = np.zeros((n_out, n_in))
    for d in range(-1, 3):
        k = base + d
        np.add.at(m, (np.arange(n_out), _mirror(k, n_in)), _bspline3(pos - k))
    return m


def bspline_axis(volume: np.ndarray, factor: float, axis: int = 0, n_out: int | None = None) -> np.ndarray:
    """Cubic B-spline interpolation of ``volume`` along ``axis`` by ``factor`` (float64)."""
    coeffs = ndimage.spline_filter1d(volume.astype(np.float64), order=3, axis=axis, mode="mirror")
    m = bspline_matrix(volume.shape[axis], factor, n_out)
    out = np.tensordot(m, np.moveaxis(coeffs, axis, 0), axes=(1, 0))
    return np.moveaxis(out, 0, axis)
