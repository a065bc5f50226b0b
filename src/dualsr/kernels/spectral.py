"""The blind kernel from the image's own power spectrum, in a fraction of a second.

DualSR and KernelGAN rest on one assumption: the image looks the same one scale down
when it is downscaled with the right kernel (cross-scale self-similarity). Their
discriminator tests it on patches and needs thousands of steps to converge. This module
tests the same assumption on second-order statistics, where it can be solved directly.

Model (stationary, ignoring aliasing): the LR image ``y = (x * k)↓2`` of a scene whose
power spectrum follows a power law ``|f|^-alpha`` has, at LR frequency ``u`` (cycles per
LR pixel, ``|u| <= 1/4``) and twice that frequency,

    log P_y(2u) / P_y(u) = -alpha log 2 - 3 pi^2 u^T S u

for a Gaussian kernel of covariance ``S`` (HR pixels^2): the ratio cancels the scene's
amplitude and its orientation, leaving the kernel's roll-off. A robust least-squares fit
over every frequency pair gives ``S`` (three numbers) and ``alpha``; the kernel is the
anisotropic Gaussian with that covariance, centred where an x2 kernel must be.

The estimate assumes a sharp, scale-free scene: a scene that is itself soft reads as a
wider kernel, regular textures and compression blocks bend the ratio. How far apart the
estimates of the image's two halves are, and how far the fitted ``alpha`` is from that of
natural images, and whether the fit asks for an axis narrower than any acquisition's kernel
(the scene's own anisotropy), say how much to trust it (:attr:`SpectralEstimate.settled`).

On a noisy image the log ratio fails where ``P(2u)`` is near the noise floor: only pairs
whose *noisy* ``P(2u)`` happens to stand above it survive the cut, which biases the ratio
up and the kernel too narrow. ``noisy=True`` fits the same model without logs, on every
pair, each weighted by its own expected variance (:func:`fit_noisy_ratios`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dualsr.kernels.convergence import kernel_change
from dualsr.paper.kernel import align, gaussian_kernel
from dualsr.paper.patches import to_gray

TILE = 48  # Welch tile (LR pixels): 24 frequency bins up to Nyquist, many tiles on small images
FLOOR_RADIUS = 0.42  # frequencies above this (cycles/pixel) measure the noise floor
VARIANCE_RANGE = (0.2, 20.0)  # kernel variances kept (HR px^2): ~a 2x2 box up to a 29-px kernel
ROBUST_C = 3.0  # Tukey biweight cut-off in robust standard deviations
ROBUST_ITERATIONS = 10
SPLIT_TOLERANCE = 0.4  # halves that disagree by more than this (fraction of the peak): not settled
ALPHA_RANGE = (1.0, 3.4)  # fitted spectral slopes outside: the power-law model does not hold (soft or flat scenes)
MIN_BINS = 60  # frequency pairs above the noise floor needed for a fit
NOISY_ITERATIONS = 30  # reweighting steps of the noise-aware fit (converged after 10 on the benchmark sets)
FLAT_NYQUIST = -30.0  # nyquist_energy of a flat image: no energy near Nyquist (log10 of a share), finite for JSON


@dataclass(frozen=True)
class SpectralEstimate:
    """A Gaussian kernel estimate and how far to trust it."""

    covariance: np.ndarray  # (2, 2), HR pixels^2
    kernel: np.ndarray  # (n, n), aligned (centre of mass at n // 2 + 0.5), sums to 1
    alpha: float  # fitted spectral slope of the scene (natural images: about 2-3)
    residual: float  # robust standard deviation of the log-ratio fit
    bins: int  # frequency pairs above the noise floor that the fit used
    spread: float  # kernel change between the image's two halves, fraction of the peak
    problems: tuple[str, ...] = field(default_factory=tuple)  # why not settled (empty: settled)
    halves: tuple[np.ndarray, ...] = ()  # the image's two halves' covariances, clipped (acquisition's split check)

    @property
    def settled(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "covariance": np.round(self.covariance, 4).tolist(),
            "alpha": round(self.alpha, 3),
            "residual": round(self.residual, 3),
            "bins": self.bins,
            "spread": round(self.spread, 3),
            "problems": list(self.problems),
            **({"halves": [np.round(h, 4).tolist() for h in self.halves]} if self.halves else {}),
        }


def power_spectrum(gray: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Welch's average periodogram over Hann-windowed tiles overlapping by 3/4, ``(tile, tile)``.

    (3/4 rather than 1/2: on the development sets the kernel error fell from 32.7 to 31.0 %.)
    """
    h, w = gray.shape
    if min(h, w) < tile:
        raise ValueError(f"image {h}x{w} is smaller than one {tile}px tile")
    window = np.outer(np.hanning(tile), np.hanning(tile))
    rows = range(0, h - tile + 1, tile // 4)
    cols = range(0, w - tile + 1, tile // 4)
    total = np.zeros((tile, tile))
    for i in rows:
        for j in cols:
            t = gray[i : i + tile, j : j + tile]
            total += np.abs(np.fft.fft2((t - t.mean()) * window)) ** 2
    return total / (len(rows) * len(cols))


def _pairs(spectrum: np.ndarray, floor: float | None) -> tuple[np.ndarray, ...]:
    """``(u_y, u_x, P(u) - floor, P(2u) - floor, floor)`` for every grid frequency ``0 < |u| <= 1/4``.

    ``2u`` is a grid frequency too, so no interpolation is needed. The noise floor is by
    default the median power near Nyquist (``benchmarks/studies/kernel/noise_floor.py`` gives a known one).
    """
    n = spectrum.shape[0]
    f = np.fft.fftfreq(n)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fy, fx)
    if floor is None:
        floor = float(np.median(spectrum[radius > FLOOR_RADIUS]))
    iy, ix = np.nonzero((radius > 0) & (radius <= 0.25 + 1e-9))
    low = spectrum[iy, ix] - floor
    high = spectrum[(2 * iy) % n, (2 * ix) % n] - floor
    return fy[iy, ix], fx[iy, ix], low, high, floor


def log_ratios(spectrum: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u_y, u_x, log P(2u)/P(u))`` for the pairs above the noise floor (see :func:`_pairs`).

    The floor is subtracted from both; pairs where the doubled frequency is not clearly
    above it carry no information about the kernel and are dropped.
    """
    uy, ux, low, high, floor = _pairs(spectrum, floor)
    keep = (high > floor) & (low > 0)
    return uy[keep], ux[keep], np.log(high[keep] / low[keep])


def noisy_pairs(spectrum: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`_pairs` for every pair with ``P(u)`` well above the floor, whatever its noisy ``P(2u)``.

    Selecting on the noisy ``P(2u)``, as :func:`log_ratios` must, is what biases the ratio
    on noisy images.
    """
    uy, ux, low, high, floor = _pairs(spectrum, None)
    keep = low > floor
    return uy[keep], ux[keep], low[keep], high[keep], floor


def _design(uy: np.ndarray, ux: np.ndarray) -> np.ndarray:
    """Columns of the model: offset, the scene's orientation (cos 2t, sin 2t), then S."""
    theta = np.arctan2(uy, ux)
    c = -3 * np.pi**2
    return np.stack([np.ones_like(uy), np.cos(2 * theta), np.sin(2 * theta), c * uy**2, 2 * c * uy * ux, c * ux**2], 1)


def fit_ratios(uy: np.ndarray, ux: np.ndarray, ratios: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Robust (Tukey biweight) fit: ``(S, alpha, residual std)``."""
    a = _design(uy, ux)
    weights = np.ones_like(ratios)
    for _ in range(ROBUST_ITERATIONS + 1):
        sw = np.sqrt(weights)
        solution = np.linalg.lstsq(a * sw[:, None], ratios * sw, rcond=None)[0]
        residual = ratios - a @ solution
        scale = 1.4826 * np.median(np.abs(residual - np.median(residual))) + 1e-12
        z = residual / (ROBUST_C * scale)
        weights = np.where(np.abs(z) < 1, (1 - z**2) ** 2, 0.0)
    s_yy, s_yx, s_xx = solution[3:]
    return np.array([[s_yy, s_yx], [s_yx, s_xx]]), float(-solution[0] / np.log(2)), float(scale)


def fit_noisy_ratios(
    uy: np.ndarray, ux: np.ndarray, low: np.ndarray, high: np.ndarray, floor: float
) -> tuple[np.ndarray, float, float]:
    """The ratio model fitted as ``P(2u) - N = R(u) (P(u) - N)``, each pair weighted by its variance.

    ``R(u) = exp(design(u) . theta)`` is :func:`fit_ratios`'s model. A Welch estimate's
    spread is proportional to its expectation, so a pair's residual has variance
    ``∝ (R P_s(u) + N)^2 + R^2 P(u)^2``: pairs where ``P(2u)`` is buried in the noise count
    for little, without being cut (and biasing the rest). Gauss-Newton from the log fit of
    the confident pairs, the weights renewed each step (a quasi-likelihood fit). Returns
    ``(S, alpha, relative residual std)``.
    """
    a = _design(uy, ux)
    confident = high > floor  # _covariance makes sure there are enough
    theta = np.linalg.lstsq(a[confident], np.log(high[confident] / low[confident]), rcond=None)[0]
    for _ in range(NOISY_ITERATIONS):
        predicted = np.exp(a @ theta) * low
        sd = np.sqrt((predicted + floor) ** 2 + (predicted / low * (low + floor)) ** 2)
        jacobian = predicted[:, None] * a / sd[:, None]
        step = np.linalg.lstsq(jacobian, (high - predicted) / sd, rcond=None)[0]
        theta = theta + np.clip(step, -1.0, 1.0)
        if np.abs(step).max() < 1e-8:
            break
    residual = (high - np.exp(a @ theta) * low) / sd
    s_yy, s_yx, s_xx = theta[3:]
    return np.array([[s_yy, s_yx], [s_yx, s_xx]]), float(-theta[0] / np.log(2)), float(residual.std())


def clip_covariance(covariance: np.ndarray, low: float, high: float) -> np.ndarray:
    """The nearest covariance with eigenvalues in ``[low, high]`` (same axes)."""
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    return vectors @ np.diag(np.clip(values, low, high)) @ vectors.T


def kernel_size(covariance: np.ndarray) -> int:
    """Smallest ``n = 1 (mod 4)``, at least 13, holding +-3 sigma around the aligned centre."""
    sigma = float(np.sqrt(np.linalg.eigvalsh(covariance).max()))
    n = max(13, 2 * int(np.ceil(3 * sigma)) + 3)
    return n + (1 - n) % 4


def gaussian_from_covariance(covariance: np.ndarray, size: int | None = None) -> np.ndarray:
    """The aligned Gaussian kernel with this covariance (HR pixels^2).

    Centred at ``n // 2 + 0.5``, the grid cuts the tails unevenly; :func:`align` puts the
    centre of mass back where an x2 kernel needs it.
    """
    values, vectors = np.linalg.eigh(covariance)
    angle = float(np.arctan2(vectors[1, 0], vectors[0, 0]))
    k = align(gaussian_kernel(size or kernel_size(covariance), float(values[0]), float(values[1]), angle))
    k = np.clip(k, 0.0, None)  # the sub-pixel shift leaves tails of +-1e-14
    return k / k.sum()


def _covariance(grays: list[np.ndarray], tile: int, noisy: bool = False) -> tuple[np.ndarray, float, float, int]:
    """Fit over the planes' averaged spectrum: ``(S, alpha, residual, bins)``, ``S`` as fitted (not clipped).

    ``bins`` counts the pairs whose doubled frequency stands above the noise floor: the
    ones that say something about the kernel (the trust check :data:`MIN_BINS`).
    """
    spectrum = np.mean([power_spectrum(g, tile) for g in grays], axis=0)
    uy, ux, ratios = log_ratios(spectrum)
    if ratios.size < 6:
        return np.eye(2), float("nan"), float("nan"), int(ratios.size)
    pairs = noisy_pairs(spectrum) if noisy else None
    if pairs is not None and np.count_nonzero(pairs[3] > pairs[4]) >= 6:  # enough confident pairs to start from
        covariance, alpha, residual = fit_noisy_ratios(*pairs)
    else:
        covariance, alpha, residual = fit_ratios(uy, ux, ratios)
    return covariance, alpha, residual, int(ratios.size)


def _half_covariance(grays: list[np.ndarray], tile: int, noisy: bool) -> np.ndarray:
    """The covariance fitted to one half of the planes, clipped as the whole image's is (the split check)."""
    return clip_covariance(_covariance(grays, tile, noisy)[0], *VARIANCE_RANGE)


def _halves(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = gray.shape
    return (gray[:, : w // 2], gray[:, w // 2 :]) if w >= h else (gray[: h // 2], gray[h // 2 :])


def gray_planes(image: np.ndarray) -> list[np.ndarray]:
    """``(H, W)``, ``(C, H, W)`` or a stack ``(P, C, H, W)`` -> one grey ``(H, W)`` per plane."""
    data = np.asarray(image)
    if data.ndim == 2:
        data = data[None]
    return [to_gray(np.asarray(p, dtype=np.float64)) for p in (data if data.ndim == 4 else data[None])]


def nyquist_energy(image: np.ndarray, tile: int = TILE) -> float:
    """log10 of the power near the LR's Nyquist frequency (``|f| > FLOOR_RADIUS``) over the power at
    ``0.2 < |f| < 0.25``: a camera of a sharp scene records energy up to Nyquist (the box passes 40-64 %
    of it, and what lies beyond folds back), a blur before subsampling removes it (measured in
    docs/benchmarks.md, "Real acquisitions"). Give a noisy image's denoised copy: noise is flat."""
    if np.ptp(image) == 0:  # a flat image holds no energy anywhere: 0 / 0 would read as a camera's
        return FLAT_NYQUIST
    spectrum = np.mean([power_spectrum(g, tile) for g in gray_planes(image)], axis=0)
    f = np.fft.fftfreq(tile)
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    high = np.median(spectrum[radius > FLOOR_RADIUS])
    mid = np.median(spectrum[(radius > 0.2) & (radius < 0.25)])
    return float(np.log10(max(high, 1e-30) / max(mid, 1e-30)))


def estimate_kernel(image: np.ndarray, tile: int = TILE, noisy: bool = False) -> SpectralEstimate:
    """The blind x2 kernel of a normalised LR image: ``(H, W)``, ``(C, H, W)`` or planes ``(P, C, H, W)``.

    Channels are read through their luma (RGB) or mean, planes through their averaged
    spectrum: one kernel for all. ``noisy`` (an image with measured noise) takes the
    noise-aware fit, :func:`fit_noisy_ratios`.
    """
    grays = gray_planes(image)
    fitted, alpha, residual, bins = _covariance(grays, tile, noisy)
    covariance = clip_covariance(fitted, *VARIANCE_RANGE)
    kernel = gaussian_from_covariance(covariance)
    halves = list(zip(*(_halves(g) for g in grays)))
    spread, half_covariances = np.inf, ()
    if min(halves[0][0].shape) >= tile:
        half_covariances = tuple(_half_covariance(list(h), tile, noisy) for h in halves)
        spread = kernel_change(*(gaussian_from_covariance(c, len(kernel)) for c in half_covariances))
    narrowest = float(np.linalg.eigvalsh(fitted)[0])
    problems = []
    if bins < MIN_BINS:
        problems.append(f"only {bins} frequencies above the noise floor (a very soft or flat image)")
    if bins >= MIN_BINS and not ALPHA_RANGE[0] <= alpha <= ALPHA_RANGE[1]:
        problems.append(f"its spectrum does not follow a natural image's (slope {alpha:.2f})")
    if spread > SPLIT_TOLERANCE:
        problems.append(f"the estimates of the image's two halves differ by {spread:.0%} of the peak")
    if bins >= MIN_BINS and narrowest < VARIANCE_RANGE[0]:
        problems.append(
            f"its narrow axis ({narrowest:.2f} HR px^2) is narrower than any acquisition's kernel: the scene's "
            "own anisotropy, read as a blur"
        )
    return SpectralEstimate(covariance, kernel, alpha, residual, bins, float(spread), tuple(problems), half_covariances)
