"""Synthetic fluorescence scenes recorded by two real cameras through a real microscope.

The real-acquisition benchmark needs pairs that a microscope would give: the same optically
blurred scene recorded with pixels of pitch ``p`` (HR) and ``2p`` (LR). A scene (cell bodies,
filaments, puncta) is drawn on a grid 4x finer than the HR pixels, blurred by the in-focus
widefield emission PSF of the objective (Richards-Wolf, Gohlke's ``psf`` package), and
integrated over each camera's pixel apertures: a ``fill_factor`` below 1 is a pixel whose light-
sensitive area is smaller than its pitch, ``crosstalk`` (sensor MTF, a Gaussian of that sigma in
the camera's own pixels) spreads light to the neighbours. With the defaults the LR is exactly the
2x2 binning of the HR (:func:`dualsr.kernels.camera.camera_kernel`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dualsr.errors import DualSRInputError

OVERSAMPLE = 4  # scene samples per HR pixel and axis
SCENES = ("cells", "filaments", "puncta", "mixed")


@dataclass(frozen=True)
class Optics:
    """An objective and an emission wavelength; the HR camera's pixel pitch in the sample."""

    num_aperture: float = 1.2
    refr_index: float = 1.333  # immersion (water)
    em_wavelen: float = 520.0  # nm
    hr_pixel: float = 0.08  # um: the LR camera's pixels are twice as wide

    @property
    def cutoff(self) -> float:
        """The optics' cut-off frequency 2 NA / lambda (cycles per um)."""
        return 2 * self.num_aperture / (self.em_wavelen / 1000)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# Two microscopes: a water objective whose LR camera undersamples (160 nm pixels, Nyquist 108 nm)
# and an air objective at a longer wavelength sampled near Nyquist by the LR camera (200 vs 188 nm).
OPTICS = {"na1.2": Optics(), "na0.8": Optics(0.8, 1.0, 600.0, 0.1)}


def in_focus_psf(optics: Optics, pitch: float, radius: float = 1.2) -> np.ndarray:
    """The widefield emission PSF in focus, sampled at ``pitch`` um out to ``radius`` um, sums to 1."""
    try:
        import psf
    except ImportError:
        raise DualSRInputError("the microscope scenes need Gohlke's psf package; pip install psf") from None
    n = int(np.ceil(radius / pitch)) + 1
    model = psf.PSF(
        psf.ISOTROPIC | psf.EMISSION,
        shape=(2, n),
        dims=(0.1, pitch * (n - 1)),
        em_wavelen=optics.em_wavelen,
        num_aperture=optics.num_aperture,
        refr_index=optics.refr_index,
    )
    kernel = psf.mirror_symmetry(model.slice(0))
    return kernel / kernel.sum()


def draw_scene(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A fluorophore density on a fine grid (``shape``): sharp, before any optics (point-like parts are
    bright per sample so that, blurred, they are as bright as the cells)."""
    if kind not in SCENES:
        raise DualSRInputError(f"unknown scene {kind!r}; choose from {', '.join(SCENES)}")
    h, w = shape
    out = np.zeros(shape)
    if kind in ("cells", "mixed"):
        out += _cells(shape, rng, 10 if kind == "cells" else 5)
    if kind in ("filaments", "mixed"):
        out += _filaments(shape, rng, 40 if kind == "filaments" else 20)
    if kind in ("puncta", "mixed"):
        out += _puncta(shape, rng, int(h * w / 4000) if kind == "puncta" else int(h * w / 12000))
    return 0.05 + out


def _cells(shape: tuple[int, int], rng: np.random.Generator, count: int) -> np.ndarray:
    """Cell bodies: ellipses of cytoplasm with a dimmer nucleus and a bright rim (membrane)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros(shape)
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        a, b = rng.uniform(0.08, 0.2) * min(h, w), rng.uniform(0.06, 0.15) * min(h, w)
        t = rng.uniform(0, np.pi)
        u = ((yy - cy) * np.cos(t) + (xx - cx) * np.sin(t)) / a
        v = (-(yy - cy) * np.sin(t) + (xx - cx) * np.cos(t)) / b
        r = np.hypot(u, v)
        body = (r < 1) * (0.4 + 0.2 * rng.random())
        rim = (np.abs(r - 1) < 0.04) * 0.6
        nucleus = (np.hypot(u + 0.2, v) < 0.4) * -0.25
        out = np.maximum(out, body + rim + nucleus * (r < 1))
    return out


def _filaments(shape: tuple[int, int], rng: np.random.Generator, count: int) -> np.ndarray:
    """Filaments: smooth random curves one fine sample wide (microtubules, actin)."""
    h, w = shape
    out = np.zeros(shape)
    for _ in range(count):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        angle, brightness = rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 1.0)
        for _ in range(int(1.5 * max(h, w))):
            angle += rng.normal(0, 0.03)
            y, x = y + np.sin(angle), x + np.cos(angle)
            if not (0 <= y < h and 0 <= x < w):
                break
            out[int(y), int(x)] = max(out[int(y), int(x)], brightness)
    return out * 12.0  # one sample wide: bright per sample (dense labelling) so the blurred line stands out


def _puncta(shape: tuple[int, int], rng: np.random.Generator, count: int) -> np.ndarray:
    """Puncta: point-like vesicles or beads of random brightness."""
    h, w = shape
    out = np.zeros(shape)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    np.maximum.at(out, (ys, xs), rng.uniform(0.3, 1.0, count) * 150.0)
    return out


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` convolved with a centred odd ``kernel`` (same size, edges reflected)."""
    pad = kernel.shape[0] // 2
    padded = np.pad(image, pad, mode="reflect")
    spectrum = np.fft.rfft2(padded) * np.fft.rfft2(kernel, padded.shape)
    full = np.fft.irfft2(spectrum, padded.shape)
    return full[2 * pad : 2 * pad + image.shape[0], 2 * pad : 2 * pad + image.shape[1]]


def record(optical: np.ndarray, pitch: int, fill_factor: float = 1.0, crosstalk: float = 0.0) -> np.ndarray:
    """A camera's image of ``optical`` (fine grid): the mean over each pixel's light-sensitive area.

    ``pitch`` is the pixel pitch in fine samples; the aperture is ``sqrt(fill_factor)`` of it per
    side, centred; ``crosstalk`` blurs the recorded image by a Gaussian of that sigma (pixels).
    """
    if not 0 < fill_factor <= 1:
        raise DualSRInputError(f"the fill factor must be in (0, 1], got {fill_factor}")
    h, w = optical.shape[0] // pitch, optical.shape[1] // pitch
    side = max(1, int(round(pitch * np.sqrt(fill_factor))))
    start = (pitch - side) // 2
    cells = optical[: h * pitch, : w * pitch].reshape(h, pitch, w, pitch)
    image = cells[:, start : start + side, :, start : start + side].mean(axis=(1, 3))
    if crosstalk > 0:
        r = np.arange(-int(3 * crosstalk + 1), int(3 * crosstalk + 1) + 1)
        g = np.exp(-0.5 * (r / crosstalk) ** 2)
        image = _convolve(image, np.outer(g, g) / g.sum() ** 2)
    return image


def microscope_pair(
    kind: str,
    size: int,
    seed: int = 0,
    optics: Optics = Optics(),
    fill_factor: float = 1.0,
    crosstalk: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(HR, LR)`` in [0, 1]: a ``size``-pixel HR camera and the camera with pixels twice as wide."""
    if size % 2:
        raise DualSRInputError(f"the HR size must be even (LR = HR / 2), got {size}")
    rng = np.random.default_rng([seed, SCENES.index(kind) if kind in SCENES else 0])
    fine = draw_scene(kind, (size * OVERSAMPLE, size * OVERSAMPLE), rng)
    optical = _convolve(fine, in_focus_psf(optics, optics.hr_pixel / OVERSAMPLE))
    hr = record(optical, OVERSAMPLE, fill_factor, crosstalk)
    lr = record(optical, 2 * OVERSAMPLE, fill_factor, crosstalk)
    scale = max(hr.max(), 1e-9)
    return np.clip(hr / scale, 0, 1), np.clip(lr / scale, 0, 1)


__all__ = ["OPTICS", "SCENES", "Optics", "draw_scene", "in_focus_psf", "microscope_pair", "record"]
