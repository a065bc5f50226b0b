"""How noisy is an image? Estimated from the image itself, no clean reference.

DualSR's model is ``LR = (HR * k) downscaled`` without noise; on a noisy image G_UP learns to
reproduce the noise at x2. This module measures the noise so that the engine (``auto``) and
:mod:`dualsr.noise.denoise` can act on it.

Both estimators work on the finest diagonal wavelet detail (Daubechies db2), which removes
smooth signal (and any signal linear along a row or a column) and keeps white noise with its
variance:

- :func:`estimate_sigma`: one Gaussian sigma, Donoho's median absolute deviation of those
  coefficients / 0.6745: scikit-image's ``estimate_sigma`` (same wavelet; borders aside, the
  same numbers).
- :func:`estimate_noise`: ``var(I) = a * I + b`` for photon counts (shot noise ``a``: the gain,
  image units per photon; read noise and camera offset in ``b``), the scheme of Foi et al.
  (IEEE TIP 2008) reduced: local means beside the detail coefficients, level sets of similar
  mean, a robust variance of each set's smoother half, a weighted straight-line fit, clipped
  levels left out. Where the variance does not grow with the signal, one Gaussian sigma. Where
  level sets flat to the rounding lie above a noisy one, none: a camera's noise never falls as the
  signal rises, so the noisy sets hold structure (a piecewise-flat image's edges).
  On images spanning a narrow range of levels the noise at those levels is pinned (within a
  few %) while its split into ``a`` and ``b`` is loose.

The result is a :class:`NoiseEstimate` in the image's units, with a level relative to the
full scale the engine trains on (0.1/99.9 percentiles; 0..255 for 8-bit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dualsr.config import NOISY_THRESHOLD
from dualsr.errors import DualSRInputError
from dualsr.io.normalize import fit_normalization

_S3 = math.sqrt(3.0)
_DB2_LOW = np.array([1 + _S3, 3 + _S3, 3 - _S3, 1 - _S3]) / (4 * math.sqrt(2.0))
_DB2_HIGH = _DB2_LOW[::-1] * np.array([1.0, -1.0, 1.0, -1.0])
_MAD_TO_SIGMA = 0.6744897501960817  # median |x| of a standard normal
_MEDIAN_CHI2_1 = 0.4549364231195724  # median x^2 of a standard normal
_MAX_SIDE = 2048  # estimate on at most the central 2048x2048 of a plane
_DENSE_PIXELS = 1024 * 1024  # up to this size every detail coefficient is used, above every 4th
_LEVEL_WINDOW = 8  # local mean over 8x8 pixels around each coefficient's 4x4 support
_SMOOTH_FRACTION = 0.5  # per level set, the smoother half (by the local edge strength) is measured
_MIN_PER_LEVEL = 200
_MAX_LEVELS = 40
_GAUSSIAN_RATIO = 1.5  # fitted variance brightest/darkest below this: the noise is called Gaussian
# A fitted variance below this share of the range squared is the fit's rounding residue, not noise: a
# noise-free image read exactly 0 on one CPU and 5e-60 grey levels^2 on another (the same NumPy).
_ZERO_VARIANCE = 1e-20
# Level sets flat to the rounding above a noisy one, holding this share of the samples: the noisy sets
# read structure (the edges of a piecewise-flat image), not noise (docs/benchmarks.md, "Images no setting saw").
_FLAT_SHARE = 0.05
_FLOAT_UNITS = 4096  # a float image's "unit": its full scale over this (12 bits)
MIN_SIDE = 16  # pixels a side the noise level is measured on, at least


@dataclass(frozen=True)
class NoiseEstimate:
    """Noise of an image: ``var(I) = gain * I + offset_variance`` in the image's units.

    ``model`` is ``"gaussian"`` (gain 0: the same noise everywhere) or ``"poisson-gaussian"``
    (shot noise grows with the signal: ``gain`` is image units per photon). ``low``/``high`` are
    the intensities the engine maps to 0 and 1 (0.1/99.9 percentiles; the dtype range for 8-bit);
    ``sigma`` is the rms noise over the image (image units).
    """

    model: str
    gain: float
    offset_variance: float
    sigma: float
    low: float
    high: float

    @property
    def full_scale(self) -> float:
        return self.high - self.low

    @property
    def level(self) -> float:
        """Noise std at mid-scale as a fraction of full scale: what :meth:`is_noisy` compares.

        Mid-scale rather than the image's rms: shot noise grows with the signal, and the rms of
        a sparse fluorescence image is mostly that of its dark background.
        """
        return float(self.std(self.low + 0.5 * self.full_scale)) / self.full_scale

    @property
    def photons_full_scale(self) -> float | None:
        """Photons that make up the full-scale span (``full_scale / gain``); None for Gaussian noise."""
        return self.full_scale / self.gain if self.gain > 0 else None

    def photons(self, value: float) -> float | None:
        """Photons behind ``value`` counted from the zero-photon level; None for Gaussian noise."""
        return value / self.gain if self.gain > 0 else None

    def std(self, intensity: np.ndarray | float) -> np.ndarray:
        """Noise standard deviation at ``intensity`` (image units)."""
        var = self.gain * np.asarray(intensity, dtype=np.float64) + self.offset_variance
        return np.sqrt(np.maximum(var, 0.0))

    def is_noisy(self, threshold: float = NOISY_THRESHOLD) -> bool:
        """Whether the noise is worth acting on: :attr:`level` above ``threshold``."""
        return self.level > threshold

    def in_unit_range(self, low: float | None = None, high: float | None = None) -> NoiseEstimate:
        """The same noise for ``x = (I - low) / (high - low)``: the [0, 1] data the engine trains on.

        ``low``/``high`` default to the estimate's own; give a channel's normalisation for that channel.
        """
        low = self.low if low is None else low
        s = (self.high if high is None else high) - low
        return NoiseEstimate(
            self.model, self.gain / s, (self.gain * low + self.offset_variance) / s**2, self.sigma / s, 0.0, 1.0
        )

    def describe(self) -> str:
        """One line for logs and the user: level, model, photons, decision."""
        text = f"noise {100 * self.level:.1f} % of full scale at mid-scale ({self.model}"
        if self.photons_full_scale is not None:
            text += f", ~{self.photons_full_scale:.0f} photons full scale"
        verdict = "noisy" if self.is_noisy() else "clean"
        return f"{text}): {verdict} (threshold {100 * NOISY_THRESHOLD:g} %)"

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "gain": self.gain,
            "offset_variance": self.offset_variance,
            "sigma": self.sigma,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "photons_full_scale": self.photons_full_scale,
        }


def _planes(image: np.ndarray, channel_axis: int | None) -> list[np.ndarray]:
    data = np.asarray(image)
    if channel_axis is not None:
        data = np.moveaxis(data, channel_axis, 0)
    elif data.ndim == 3 and data.shape[-1] in (3, 4):
        raise DualSRInputError("a 3D image needs its channel axis: estimate_noise(image, channel_axis=-1) for RGB")
    planes = [data] if channel_axis is None else list(data)
    if any(p.ndim != 2 for p in planes):
        raise DualSRInputError(f"expected a 2D plane (or channels of one), got shape {np.shape(image)}")
    if min(planes[0].shape) < MIN_SIDE:
        raise DualSRInputError(
            f"the image is {planes[0].shape}: too small to estimate noise ({MIN_SIDE}x{MIN_SIDE} at least)"
        )
    out = []
    for p in planes:
        h, w = p.shape
        top, left = max(0, (h - _MAX_SIDE) // 2), max(0, (w - _MAX_SIDE) // 2)
        p = np.asarray(p[top : top + _MAX_SIDE, left : left + _MAX_SIDE], dtype=np.float64)
        if not np.all(np.isfinite(p)):
            raise DualSRInputError("the image has NaN or Inf pixels; replace them before estimating noise")
        out.append(p)
    return out


def _filter_down(plane: np.ndarray, taps: np.ndarray, axis: int, step: int) -> np.ndarray:
    """Correlate ``plane`` with ``taps`` along ``axis`` ('valid') and keep every ``step``-th sample."""
    windows = np.lib.stride_tricks.sliding_window_view(plane, len(taps), axis=axis)
    out = windows @ taps
    return out[::step] if axis == 0 else out[:, ::step]


def diagonal_detail(plane: np.ndarray, step: int = 2) -> np.ndarray:
    """The finest db2 diagonal wavelet coefficients of a 2D plane ('valid': no border effects).

    White noise of standard deviation s gives coefficients of standard deviation s; signal
    that is smooth, or linear along rows or columns, gives ~0. Coefficient ``(i, j)`` covers
    pixels ``step*i .. step*i+3`` x ``step*j .. step*j+3``: ``step`` 2 is the wavelet transform,
    1 its undecimated form (every position; four times the samples for the level sets).
    """
    return _filter_down(_filter_down(plane, _DB2_HIGH, 0, step), _DB2_HIGH, 1, step)


def estimate_sigma(image: np.ndarray, channel_axis: int | None = None) -> float:
    """Gaussian noise sigma (image units): median |diagonal detail| / 0.6745 (Donoho & Johnstone).

    The estimator of scikit-image's ``restoration.estimate_sigma``; channels are averaged.
    """
    return float(np.mean([_mad_sigma(diagonal_detail(p)) for p in _planes(image, channel_axis)]))


def _mad_sigma(detail: np.ndarray) -> float:
    return float(np.median(np.abs(detail))) / _MAD_TO_SIGMA


def _local_samples(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per diagonal coefficient: its square, the local mean around it, and the local edge strength.

    The mean is over 8x8 pixels centred on the coefficient's 4x4 support; the edge strength is the
    largest gradient of the lightly smoothed plane (Gaussian, 1 pixel) within 3 pixels of it.
    """
    from scipy import ndimage

    step = 1 if plane.size <= _DENSE_PIXELS else 2
    d = diagonal_detail(plane, step)
    rows = step * np.arange(d.shape[0]) + 2  # the support's centre (rounded up) ...
    cols = step * np.arange(d.shape[1]) + 2
    centre = np.ix_(rows, cols)
    level = ndimage.uniform_filter(plane, _LEVEL_WINDOW, mode="reflect")[centre]  # ... is the windows' centre
    gradient = np.hypot(*np.gradient(ndimage.gaussian_filter(plane, 1.0)))
    edge = ndimage.maximum_filter(gradient, size=6, mode="nearest")[centre]
    return d.ravel() ** 2, level.ravel(), edge.ravel()


def _clipped(planes: list[np.ndarray]) -> list[float]:
    """Values where the image is clipped: its lowest/highest value, held by more than 0.5 % of pixels."""
    out = []
    for p in planes:
        for v in (float(p.min()), float(p.max())):
            if np.count_nonzero(p == v) > 0.005 * p.size:
                out.append(v)
    return out


def _level_sets(planes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level sets of similar local mean: (mean level, noise variance, sample count) for each.

    Sets are bounded by both quantiles of the local means (resolution where most pixels are) and
    equal steps over their 0.5-99.5 % range (reach to the dark and bright ends, which fix the
    slope); those with fewer than 200 samples are dropped. Each set's variance is the median
    squared detail of its smoother half (robust to edges and texture).
    """
    sq, lev, edge = (np.concatenate(parts) for parts in zip(*(_local_samples(p) for p in planes)))
    n_sets = int(np.clip(sq.size // (2 * _MIN_PER_LEVEL), 1, _MAX_LEVELS))
    lo, hi = np.percentile(lev, [0.5, 99.5])
    bounds = np.unique(
        np.concatenate([np.quantile(lev, np.linspace(0, 1, n_sets + 1)), np.linspace(lo, hi, n_sets + 1)])
    )
    which = np.clip(np.searchsorted(bounds, lev, side="right") - 1, 0, len(bounds) - 2)
    levels, variances, counts = [], [], []
    for i in range(len(bounds) - 1):
        idx = np.flatnonzero(which == i)
        if idx.size < _MIN_PER_LEVEL or (i in (0, len(bounds) - 2) and len(bounds) > 3):
            continue  # too few, or the open-ended outermost sets (beyond the 0.5-99.5 % range)
        smooth = idx[edge[idx] <= np.quantile(edge[idx], _SMOOTH_FRACTION)]
        levels.append(float(np.mean(lev[smooth])))
        variances.append(float(np.median(sq[smooth])) / _MEDIAN_CHI2_1)
        counts.append(smooth.size)
    return np.array(levels), np.array(variances), np.array(counts, dtype=np.float64)


def _fit_line(levels: np.ndarray, variances: np.ndarray, counts: np.ndarray, slope: bool = True) -> tuple[float, float]:
    """``variance = a * level + b`` with ``a >= 0`` (``a = 0`` without ``slope``), sets weighted by their precision."""
    if levels.size == 0 or float(np.median(variances)) <= 0:
        return 0.0, 0.0  # no set with measurable noise (a smooth, coarsely quantised image): none
    floor = 1e-3 * float(np.median(variances))
    a, b = 0.0, float(np.median(variances))
    for _ in range(5):  # reweight by the fitted variance (a set's variance error is ~ var * sqrt(2 / n))
        w = counts / np.maximum(a * levels + b, floor) ** 2
        w = w / w.max()  # the scale of the weights changes nothing but their overflow
        if slope and levels.size >= 2 and np.ptp(levels) > 0:
            design = np.stack([levels, np.ones_like(levels)], 1) * np.sqrt(w)[:, None]
            a, b = np.linalg.lstsq(design, variances * np.sqrt(w), rcond=None)[0]
        if not slope or levels.size < 2 or a < 0:
            a, b = 0.0, float(np.sum(w * variances) / np.sum(w))
    return float(a), float(b)


def _flat_contradicts(levels: np.ndarray, variances: np.ndarray, counts: np.ndarray, unit: float) -> bool:
    """Level sets flat to the rounding (variance at most ``unit``^2 / 12) above a set with noise of a
    ``unit`` or more, holding ``_FLAT_SHARE`` of the samples or more.

    A camera's noise never falls as the signal rises (``var = a * I + b``, ``a >= 0``), so a flat set
    above a noisy one says the image is noise-free there, and the other sets' variance is structure:
    a piecewise-flat image (a phantom, a rendering, a scan) has level sets made only of the edges
    between its flat regions. Shot noise leaves the darkest sets flat (patches of no photons), below
    every noisy one, which is why only flat sets above a noisy set count.
    """
    order = np.argsort(levels)
    noisy = np.flatnonzero(variances[order] >= unit**2)
    if not noisy.size:
        return False
    above = order[noisy[0] + 1 :]
    flat = above[variances[above] <= unit**2 / 12]
    return float(counts[flat].sum()) >= _FLAT_SHARE * float(counts.sum())


def estimate_noise(image: np.ndarray, channel_axis: int | None = None) -> NoiseEstimate:
    """Estimate the noise of ``image`` (2D, or 2D channels along ``channel_axis``) from itself.

    Fits ``var(I) = a * I + b`` over level sets (channels share it: one camera), leaving out the
    sets that clipping squeezes. Where level sets flat to the rounding lie above a noisy one
    (:func:`_flat_contradicts`), the image is noise-free. Where the fitted variance hardly changes over the image's
    1-99 % range the noise is called Gaussian, with one variance for all sets. Large planes are
    measured on their central 2048x2048 pixels.
    """
    planes = _planes(image, channel_axis)
    norm = fit_normalization(np.asarray(image), "auto", channel_axis)
    low, high = float(np.mean(norm.low)), float(np.mean(norm.high))
    levels, variances, counts = _level_sets(planes)
    a, b = _fit_line(levels, variances, counts)
    free = np.ones(levels.shape, bool)
    for v in _clipped(planes):  # within 2.5 sigma of a clipped value, sigma taken *at* that value: Poisson
        free &= np.abs(levels - v) > 2.5 * math.sqrt(max(a * v + b, 0.0))  # counts are never clipped at 0
    levels, variances, counts = levels[free], variances[free], counts[free]
    a, b = _fit_line(levels, variances, counts)
    unit = 1.0 if np.issubdtype(np.asarray(image).dtype, np.integer) else (high - low) / _FLOAT_UNITS
    if _flat_contradicts(levels, variances, counts, unit):
        return NoiseEstimate("gaussian", 0.0, 0.0, 0.0, low, high)
    dark, bright = np.percentile(np.concatenate([p.ravel() for p in planes]), [1, 99])
    var_dark, var_bright = a * dark + b, a * bright + b
    if a > 0 and (var_dark <= 0 or var_bright >= _GAUSSIAN_RATIO * var_dark):
        mean_var = float(np.mean([np.mean(np.maximum(a * p + b, 0.0)) for p in planes]))
        return NoiseEstimate("poisson-gaussian", a, b, math.sqrt(mean_var), low, high)
    _, var = _fit_line(levels, variances, counts, slope=False)
    var = var if var > _ZERO_VARIANCE * (high - low) ** 2 else 0.0
    return NoiseEstimate("gaussian", 0.0, var, math.sqrt(var), low, high)


__all__ = ["MIN_SIDE", "NoiseEstimate", "diagonal_detail", "estimate_noise", "estimate_sigma"]
