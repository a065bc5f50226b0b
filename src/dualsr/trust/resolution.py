"""Image resolution from one image: decorrelation analysis (Descloux, Grussmayer, Radenovic, Nature
Methods 2019).

The image's spectrum, normalised to unit modulus, is correlated with the spectrum itself inside
discs of growing radius: where the signal ends and noise begins the correlation peaks. Repeating it
on high-pass filtered copies finds the highest frequency ``kc`` (a fraction of the Nyquist
frequency) that still carries structure; the resolution is ``2 / kc`` pixels, and the peak's
height ``A0`` on the unfiltered image is an SNR proxy. This is the published algorithm with the
settings of the authors' own code (getDcorr.m 1.1.8: edge apodisation, odd sides, 50 radii, 10
high-pass filters, two refinement passes, correlations floored to 1/1000, peaks under 0.05 ignored);
like it, and unlike some implementations, the refinement may go up to the Nyquist frequency, not only
to half of it, which would hide exactly the detail a x2 adds. Against that code, run by Octave, it
reads the same kc on band-limited noise and within 1.1 % on two of three real images (docs/trust.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualsr.paper.resize import bicubic_resize_np

RADII = 50  # samples of the decorrelation curve
FILTERS = 10  # high-pass filters per pass
APODISATION = 20  # pixels of cosine taper at the edges
MIN_PEAK = 0.05  # peaks below this are noise
PEAK_DROP = 0.0005  # a maximum counts as a peak when the curve drops this much after it
DECIMALS = 1000  # the curve is floored to 1/1000 (its peaks are compared on that grid)
REFINE_REACH = 0.4  # the second pass samples radii up to this far above the first pass's best kc
TAPS = 9  # LR pixels a side of the linear interpolator whose spectral images a x2 is cleared of


@dataclass(frozen=True)
class Resolution:
    """``kc`` (fraction of the Nyquist frequency), the resolution ``2 / kc`` in pixels, the SNR proxy ``A0``."""

    kc: float
    snr: float

    @property
    def pixels(self) -> float:
        return 2.0 / self.kc if self.kc > 0 else float("inf")

    def to_dict(self) -> dict[str, float]:
        return {"kc": round(self.kc, 4), "pixels": round(self.pixels, 3), "snr": round(self.snr, 3)}


def apodise(image: np.ndarray, width: int = APODISATION) -> np.ndarray:
    """``image`` with a cosine taper over ``width`` pixels at each edge, towards its mean."""
    h, w = image.shape
    mean = image.mean()

    def taper(n: int) -> np.ndarray:
        t = np.ones(n)
        k = min(width, n // 2)
        ramp = np.sin(np.linspace(0, np.pi / 2, k, endpoint=False)) ** 2 if k else np.zeros(0)
        t[:k], t[n - k :] = ramp, ramp[::-1]
        return t

    return (image - mean) * np.outer(taper(h), taper(w)) + mean


def _curves(ik: np.ndarray, unit: np.ndarray, order: np.ndarray, rr: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Decorrelation ``d(r)`` of spectrum ``ik`` with the normalised spectrum inside each radius."""
    prod = np.real(ik * np.conj(unit)).ravel()[order]
    norm = (np.abs(unit) ** 2).ravel()[order]
    c = np.sqrt(np.sum(np.abs(ik) ** 2))
    num, den = np.cumsum(prod), np.cumsum(norm)
    idx = np.searchsorted(rr, radii**2, side="left") - 1  # pixels with R^2 < r^2
    out = np.zeros(len(radii))
    ok = idx >= 0
    out[ok] = num[idx[ok]] / (c * np.sqrt(np.maximum(den[idx[ok]], 1e-30)))
    return np.floor(DECIMALS * out) / DECIMALS


def _peak(d: np.ndarray) -> tuple[int, float]:
    """Index and height of the decorrelation curve's peak (Descloux's criterion); (0, 0) without one."""
    t = d.copy()
    index = int(np.argmax(t))
    while len(t) > 1:
        if index == len(t) - 1:
            t = t[:-1]
        elif index == 0 or t[index] - t[index:].min() >= PEAK_DROP:
            break
        else:
            t = t[:-1]
        index = int(np.argmax(t))
    return index, float(d[index])


def decorrelation(image: np.ndarray, radii: int = RADII, filters: int = FILTERS) -> Resolution:
    """Decorrelation analysis of a 2D image (Descloux et al. 2019): ``kc`` and the SNR proxy."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 2 * APODISATION + 8:
        raise ValueError(f"decorrelation analysis needs a 2D image of at least {2 * APODISATION + 8} px a side")
    if np.ptp(image) == 0:  # no structure at all: the curve would be the mean's (a false peak) or 0 / 0
        return Resolution(kc=0.0, snr=0.0)
    im = apodise(image)
    im = im[: im.shape[0] - 1 + im.shape[0] % 2, : im.shape[1] - 1 + im.shape[1] % 2]  # odd sides: a centred zero
    h, w = im.shape
    spectrum = np.fft.fftshift(np.fft.fft2(np.fft.fftshift(im)))
    y, x = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    r2 = x**2 + y**2
    inside = r2 < 1
    ik = spectrum * inside
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(np.abs(spectrum) > 0, spectrum / np.abs(spectrum), 0) * inside
    order = np.argsort(r2, axis=None)
    rr = r2.ravel()[order]

    r = np.linspace(0, 1, radii)
    d0 = _curves(ik, unit, order, rr, r)
    i0, snr0 = _peak(d0)
    k0 = r[i0]
    g_max = 2 / k0 if k0 > 0 else max(h, w) / 2
    sigmas = np.concatenate([[h / 4], np.exp(np.linspace(np.log(g_max), np.log(0.15), filters))])
    kcs, snrs = [k0], [snr0]
    for refinement in range(2):
        found = []
        for g in sigmas:
            filtered = ik * (1 - np.exp(-2 * g * g * r2))
            index, amp = _peak(_curves(filtered, unit, order, rr, r))
            found.append((r[index], amp))
        kcs += [k for k, _ in found]
        snrs += [a for _, a in found]
        if refinement == 0:
            sigmas, r = _refined(sigmas, [k0] + [k for k, _ in found], r, h)
    kc = np.array(kcs)
    snr = np.array(snrs)
    kc[snr < MIN_PEAK] = 0
    if not kc.any():
        return Resolution(0.0, 0.0)
    return Resolution(float(kc.max()), float(snr0))


def _refined(sigmas: np.ndarray, kcs: list[float], r: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The second pass's filters and radii around the first pass's best ``kc`` (``kcs[0]``: unfiltered,
    ``kcs[i]``: filter ``i - 1``; the last of equal maxima): between that filter and the next, or the one
    before where it is the last but one or last; up to ``REFINE_REACH`` above it, not beyond ``r``."""
    best = len(kcs) - 1 - int(np.argmax(kcs[::-1]))
    if best == 0:
        lo, hi = float(side), sigmas[0]
    elif best >= len(sigmas) - 1:
        lo, hi = sigmas[best - 2], sigmas[best - 1]
    else:
        lo, hi = sigmas[best - 1], sigmas[best]
    top = kcs[best]
    radii = np.linspace(max(top - (r[1] - r[0]), 0.0), min(top + REFINE_REACH, 1.0, r[-1]), len(r))
    return np.exp(np.linspace(np.log(lo), np.log(hi), len(sigmas) - 1)), radii


def deimaged(lr: np.ndarray, x2: np.ndarray, taps: int = TAPS) -> np.ndarray:
    """``x2`` without the spectral images of ``lr`` a linear interpolator puts above the LR's Nyquist.

    Any linear x2 of the LR (bicubic, Lanczos, a learned filter) holds, above the LR's Nyquist
    frequency, only copies of the LR's spectrum, which decorrelation reads as structure. The best
    linear interpolator of ``x2`` from ``lr`` (least squares, ``taps`` x ``taps`` LR pixels per output
    phase) is fitted, and its part above the LR's Nyquist (outside the LR's square band) is taken away:
    what stays there is what no linear interpolation explains; below it the x2 is left as it is."""
    lr, x2 = np.asarray(lr, np.float64), np.asarray(x2, np.float64)
    h, w = lr.shape
    if x2.shape != (2 * h, 2 * w):
        raise ValueError(f"x2 of shape {x2.shape} is not twice the LR's {lr.shape}")
    linear = _linear_x2(lr, x2, taps)
    return x2 - (linear - _band_limited(linear))


def _linear_x2(lr: np.ndarray, x2: np.ndarray, taps: int) -> np.ndarray:
    """The least-squares linear x2 of ``lr``: one ``taps`` x ``taps`` filter (and offset) per output phase."""
    h, w = lr.shape
    r = taps // 2
    padded = np.pad(lr, r, mode="reflect")
    features = np.stack(
        [padded[a : a + h, b : b + w].ravel() for a in range(taps) for b in range(taps)] + [np.ones(h * w)], 1
    )
    targets = np.stack([x2[py::2, px::2].ravel() for py in (0, 1) for px in (0, 1)], 1)
    inner = np.zeros((h, w), bool)
    inner[r : h - r, r : w - r] = True  # the fit sees no reflected pixels
    a, b = features[inner.ravel()], targets[inner.ravel()]
    gram = a.T @ a  # the normal equations: a hundred times faster than an SVD of ``a``, as exact here
    coef = np.linalg.solve(gram + 1e-9 * np.trace(gram) / len(gram) * np.eye(len(gram)), a.T @ b)
    predicted = features @ coef
    out = np.empty_like(x2)
    for i, (py, px) in enumerate((py, px) for py in (0, 1) for px in (0, 1)):
        out[py::2, px::2] = predicted[:, i].reshape(h, w)
    return out


def interpolated(lr: np.ndarray) -> np.ndarray:
    """Bicubic x2 of ``lr`` :func:`deimaged`: the interpolation's resolution, what a x2 must exceed to have
    gained any. Not the ideal (Fourier) x2: that cuts the LR's noise off sharply at its Nyquist, and a
    sharp band edge reads as structure (a smooth image's flat noise floor: kc 0.6 against its own 0.2)."""
    return _band_limited(bicubic_resize_np(np.asarray(lr, np.float64), 2.0))


def _band_limited(x2: np.ndarray) -> np.ndarray:
    """``x2`` with nothing above the LR's Nyquist (half the x2's, on each axis: the LR's square band);
    mirrored, so the edges do not wrap."""
    h, w = x2.shape
    mirrored = np.pad(x2, ((0, h), (0, w)), mode="symmetric")
    spectrum = np.fft.fft2(mirrored)
    fy, fx = np.fft.fftfreq(2 * h)[:, None], np.fft.fftfreq(2 * w)[None, :]
    spectrum *= (np.abs(fy) <= 0.25) & (np.abs(fx) <= 0.25)
    return np.real(np.fft.ifft2(spectrum))[:h, :w]


__all__ = ["Resolution", "apodise", "decorrelation", "deimaged", "interpolated"]
