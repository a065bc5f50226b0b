"""Image resolution from one image: decorrelation analysis (Descloux, Grussmayer, Radenovic, Nature
Methods 2019).

The image's spectrum, normalised to unit modulus, is correlated with the spectrum itself inside
discs of growing radius: where the signal ends and noise begins the correlation peaks. Repeating it
on high-pass filtered copies finds the highest frequency ``kc`` (a fraction of the Nyquist
frequency) that still carries structure; the resolution is ``2 / kc`` pixels, and the peak's
height ``A0`` on the unfiltered image is an SNR proxy. This is the published algorithm with its
published settings (edge apodisation, 50 radii, 10 high-pass filters, two refinement passes, peaks
under 0.05 ignored), with one difference from some implementations: the refinement may go up to
the Nyquist frequency, not only to half of it, which would hide exactly the detail a x2 adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RADII = 50  # samples of the decorrelation curve
FILTERS = 10  # high-pass filters per pass
APODISATION = 20  # pixels of cosine taper at the edges
MIN_PEAK = 0.05  # peaks below this are noise
PEAK_DROP = 0.0005  # a maximum counts as a peak when the curve drops this much after it


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
    return out


def _peak(d: np.ndarray) -> tuple[int, float]:
    """Index and height of the decorrelation curve's peak (Descloux's criterion); (0, 0) without one."""
    t = d.copy()
    index = int(np.argmax(t))
    while len(t) > 1:
        if index == len(t) - 1:
            t = t[:-1]
        elif index == 0 or d[index] - d[index:].min() >= PEAK_DROP:
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
    im = apodise(image)
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
            best = len(found) - 1 - int(np.argmax([k for k, _ in found][::-1]))  # the last of equal maxima
            lo, hi = (best, best + 1) if best < len(sigmas) - 1 else (best - 1, best)
            sigmas = np.exp(np.linspace(np.log(sigmas[lo]), np.log(sigmas[hi]), filters))
            top = found[best][0]
            r = np.linspace(max(top - (r[1] - r[0]), 0.0), min(top + 0.3, 1.0), radii)
    kc = np.array(kcs)
    snr = np.array(snrs)
    kc[snr < MIN_PEAK] = 0
    if not kc.any():
        return Resolution(0.0, 0.0)
    return Resolution(float(kc.max()), float(snr0))


__all__ = ["Resolution", "apodise", "decorrelation"]
