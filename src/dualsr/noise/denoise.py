"""A well-kept library denoiser for shot and read noise: stabilise, denoise, invert exactly.

Photon counts have Poisson noise (its variance grows with the signal) plus the camera's
Gaussian read noise: ``var(I) = a * I + b`` (:mod:`dualsr.noise.estimate`). Gaussian denoisers assume one
sigma everywhere, so the image first goes through the generalised Anscombe transform (GAT),
after which the noise is ~Gaussian with sigma 1; after denoising, the *exact unbiased* inverse
of Mäkitalo & Foi (IEEE TIP 2011, 2013) brings it back: the inverse of ``lambda -> E[GAT(z)]``,
not the algebraic inverse, which biases dark regions (a few photons) by a lot. Gaussian noise
alone is denoised as it is.

The Gaussian denoisers: ``nlm`` is scikit-image's non-local means (fast mode, patch 5, search
distance 6, ``h = 0.8 sigma``: the settings scikit-image's documentation recommends);
``nlm_wiener`` (the default) refines it by empirical Wiener filtering in a sliding DCT with the
NLM output as pilot (:mod:`dualsr.noise.wiener`, about +2 dB); ``bm3d`` runs BM3D where it is
installed (the ``bm3d`` package: free for non-commercial use only, so never a dependency).
Their quality and cost side by side are in docs/benchmarks.md ("Noise").
"""

from __future__ import annotations

import importlib
import math
from functools import lru_cache

import numpy as np

from dualsr.config import DEFAULT_DENOISER, DENOISERS
from dualsr.errors import DualSRInputError
from dualsr.io.normalize import to_dtype
from dualsr.noise.estimate import NoiseEstimate, estimate_noise
from dualsr.noise.wiener import wiener_refine

NLM_PATCH, NLM_DISTANCE, NLM_H = 5, 6, 0.8  # scikit-image's recommended fast-mode settings (h = 0.8 sigma)
_EXACT_BELOW = 60.0  # photons: the exact inverse from a table below, the closed form above (they meet within 0.02)


def stabilise(counts: np.ndarray, sigma: float) -> np.ndarray:
    """GAT of ``counts = Poisson(lambda) + N(0, sigma^2)`` (unit gain): ~N(f(lambda), 1)."""
    return 2.0 * np.sqrt(np.maximum(counts + 0.375 + sigma**2, 0.0))


def closed_form_inverse(d: np.ndarray, sigma: float) -> np.ndarray:
    """Mäkitalo & Foi's closed-form approximation of the exact unbiased inverse (accurate for large ``d``)."""
    r = math.sqrt(1.5)
    return 0.25 * d**2 + 0.25 * r / d - 1.375 / d**2 + 0.625 * r / d**3 - 0.125 - sigma**2


@lru_cache(maxsize=16)
def expected_gat_table(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``lambda`` and ``E[GAT(Poisson(lambda) + N(0, sigma^2))]`` on a grid of ``lambda`` in [0, 60]."""
    from scipy.special import gammaln

    lam = np.linspace(0.0, math.sqrt(_EXACT_BELOW), 800) ** 2
    k = np.arange(int(_EXACT_BELOW + 12 * math.sqrt(_EXACT_BELOW) + 40))
    log_lam = np.log(np.maximum(lam, 1e-300))[:, None]
    pmf = np.exp(k[None] * log_lam - lam[:, None] - gammaln(k + 1)[None])
    pmf[0] = 0.0
    pmf[0, 0] = 1.0  # lambda = 0: always zero photons
    if sigma > 0:
        x, w = np.polynomial.hermite_e.hermegauss(60)  # E over N(0, sigma^2) by Gauss-Hermite
        per_count = stabilise(k[:, None] + sigma * x[None], sigma) @ (w / w.sum())
    else:
        per_count = stabilise(k.astype(np.float64), 0.0)
    return lam, pmf @ per_count


def exact_unbiased_inverse(d: np.ndarray, sigma: float) -> np.ndarray:
    """``lambda`` whose expected GAT is ``d`` (0 below the expectation at no photons)."""
    lam, expected = expected_gat_table(round(float(sigma), 6))
    d = np.asarray(d, dtype=np.float64)
    out = np.interp(d, expected, lam, left=0.0)
    high = d > expected[-1]
    out[high] = closed_form_inverse(d[high], sigma)
    return out


def gat_parameters(a: float, b: float) -> tuple[float, float, float]:
    """(gain, offset, read sigma in photons) of ``var = a * I + b``: ``I = gain * (photons + N(0, s^2)) + offset``.

    ``b`` alone cannot tell read noise from a camera offset; a negative ``b`` is an offset, a
    positive one read noise (what the transform needs is ``gain * I + b`` either way).
    """
    return a, -min(b, 0.0) / a, math.sqrt(max(b, 0.0)) / a


def require_denoiser(method: str):  # noqa: ANN201 - the module behind it
    """The library behind ``method``, or one line saying what to install (checked before long runs)."""
    if method not in DENOISERS:
        raise DualSRInputError(f"unknown denoiser {method!r}; use one of {', '.join(DENOISERS)}")
    try:
        return importlib.import_module("bm3d" if method == "bm3d" else "skimage.restoration")
    except ImportError:
        package = "bm3d (free for non-commercial use only)" if method == "bm3d" else "scikit-image"
        raise DualSRInputError(f"the {method!r} denoiser needs {package}: pip install {package.split()[0]}") from None


def _gaussian_denoise(image: np.ndarray, sigma: float, method: str, channel_axis: int | None) -> np.ndarray:
    """Denoise float ``image`` (``(H, W)`` or ``(H, W, C)``) with Gaussian noise of std ``sigma``."""
    if method in ("nlm", "nlm_wiener"):
        pilot = require_denoiser("nlm").denoise_nl_means(
            image,
            patch_size=NLM_PATCH,
            patch_distance=NLM_DISTANCE,
            h=NLM_H * sigma,
            sigma=sigma,
            fast_mode=True,
            preserve_range=True,
            channel_axis=channel_axis,
        )
        return pilot if method == "nlm" else wiener_refine(image, pilot, sigma, channel_axis=channel_axis)
    bm3d = require_denoiser("bm3d")
    if channel_axis is not None and image.shape[-1] == 3:
        return np.asarray(bm3d.bm3d_rgb(image, sigma_psd=sigma))
    if channel_axis is not None:
        return np.stack([np.asarray(bm3d.bm3d(image[..., c], sigma_psd=sigma)) for c in range(image.shape[-1])], -1)
    return np.asarray(bm3d.bm3d(image, sigma_psd=sigma))


def denoise(
    image: np.ndarray,
    noise: NoiseEstimate | None = None,
    *,
    channel_axis: int | None = None,
    method: str = DEFAULT_DENOISER,
) -> np.ndarray:
    """``image`` denoised: same shape, dtype and range.

    ``noise`` is its :class:`~dualsr.noise.estimate.NoiseEstimate` (estimated here when not given);
    Poisson-Gaussian noise is stabilised first (GAT) and brought back by the exact unbiased
    inverse. ``channel_axis`` names the channels of a multi-channel plane (denoised jointly).
    """
    require_denoiser(method)
    data = np.asarray(image)
    if noise is None:
        noise = estimate_noise(data, channel_axis)
    x = np.asarray(data, dtype=np.float64)
    if channel_axis is not None:
        x = np.moveaxis(x, channel_axis, -1)
    last = None if channel_axis is None else -1
    if noise.gain > 0:
        gain, offset, read = gat_parameters(noise.gain, noise.offset_variance)
        y = _gaussian_denoise(stabilise((x - offset) / gain, read), 1.0, method, last)
        out = exact_unbiased_inverse(y, read) * gain + offset
    elif noise.offset_variance > 0:
        out = _gaussian_denoise(x, math.sqrt(noise.offset_variance), method, last)
    else:
        out = x
    if channel_axis is not None:
        out = np.moveaxis(out, -1, channel_axis)
    return to_dtype(out, data.dtype)


__all__ = [
    "closed_form_inverse",
    "denoise",
    "exact_unbiased_inverse",
    "expected_gat_table",
    "gat_parameters",
    "require_denoiser",
    "stabilise",
]
