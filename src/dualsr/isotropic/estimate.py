"""The slice profile estimated blind, from the stack alone: in-plane lines against through-plane lines.

Along X and Y the stack is sampled finely; along Z it was blurred by the slice profile and
sampled every ``f`` pixels. If the object looks alike in every direction (statistically:
the same autocorrelation), then Z lines are X/Y lines acquired through the profile. Which
profile? The one whose simulated acquisition of the in-plane lines has the spectrum
measured along Z.

That simulation needs no pass over the data per candidate: the in-plane lines'
autocorrelation ``R`` at integer lags is measured once, and a candidate's slice weights
``D`` (:func:`dualsr.isotropic.degrade.degradation_matrix`) give the slices'
autocorrelation as ``D T D'`` (``T`` the Toeplitz matrix of the object's autocorrelation),
exactly, for any factor. The in-plane lines are not the object's lines, though: each is a
slab, the object averaged along Z over the same profile, which smooths it more at short
lags than at long ones (it biased every estimate towards too narrow a profile). For an
isotropic object the slab's autocorrelation is a known linear map of the object's
(:func:`_slab_matrix`), so each candidate first undoes it (``slab=True``, the default).

Both sides become Blackman-Tukey spectra with the same lag window, and the candidate (a
generalised Gaussian: FWHM and shape) minimising the squared log-spectral distance, up to a
free gain (the two directions need not hold the same amount of structure), wins. ESPRESO
(Han et al. 2023) learns the profile adversarially instead; this closed form takes about a
second.

The width is seen better than the shape. A rectangle as wide as the step and a Gaussian about
0.7 of it pass nearly the same spectrum below the slices' Nyquist frequency, so second-order
statistics fit both alike, and their FWHMs differ by ~30 %. The estimate therefore keeps each
named shape's best width (:attr:`ProfileEstimate.alternatives`) and says whether the shape was
seen at all (:attr:`ProfileEstimate.shape_seen`); a user who knows the shape (2-D multislice
MRI: rectangular; confocal, light sheet: Gaussian-like) gives it and only the width is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.isotropic.degrade import interior_matrix
from dualsr.isotropic.profile import SHAPE_POWER, SliceProfile, generalised

POWERS = (2.0, 3.0, 4.0, 6.0, 10.0, 40.0)  # Gaussian .. rectangle
# The two named shapes' best misfits differ less than this where the stack cannot tell them apart.
# Measured (benchmarks/studies/isotropic/profile_estimators.py, 26 stacks, docs/isotropic.md): worse / better
# 1.00-1.13 for rectangles as wide as the step and Gaussians of 0.6 step, 1.7-4.6 for Gaussians as wide as it.
SHAPE_SEEN_RATIO = 1.4
# A best width among the first or last this many candidates is cut off by the search's edge (0.25 f, 3 f): the
# stack did not show its profile. Measured (docs/isotropic.md): MNI at factor 2 (-74 %) and the confocal nucleus at
# 5.5 (-58 %, 10 slices) land there; the nearest of the other 28 benchmark, field and nucleus cases is 7 from it.
EDGE_CANDIDATES = 2
EXTREME = {"narrow": "narrowest", "wide": "widest"}
# A blind profile reaching this many times as far (RMS width) as a box one Z step thick says Z holds more blur than
# its step. Measured (benchmarks/studies/isotropic/overlap_note.py, docs/isotropic.md): slice profiles at most one
# step thick read 0.26-1.11 on the MNI and synthetic volumes; slices that overlap (Gaussians one step wide) 1.06-1.52,
# an axial blur (the synthetic volume blurred along Z) 1.03-2.42, the confocal nucleus at factors 3 and 4 1.31, 1.21.
OVERLAP_RATIO = 1.15
MAX_LAGS = 24  # slice lags compared (the spectra's resolution)
MAX_LINES = 20000  # lines sampled per direction


@dataclass
class ProfileEstimate:
    """The chosen profile, its misfit, and the measured and simulated spectra (for plots and checks)."""

    profile: SliceProfile
    misfit: float
    frequencies: np.ndarray
    measured: np.ndarray
    simulated: np.ndarray
    table: list[tuple[float, float, float]]  # (fwhm, power, misfit) of every candidate

    def best_width(self, power: float) -> tuple[float, float] | None:
        """(FWHM in pixels, misfit) of the best candidate of this shape, None if none was tried."""
        rows = [(misfit, fwhm) for fwhm, p, misfit in self.table if p == power]
        return (min(rows)[1], min(rows)[0]) if rows else None

    @property
    def shape_given(self) -> bool:
        """Only one shape was tried: the width alone was estimated."""
        return len({p for _, p, _ in self.table}) == 1

    @property
    def alternatives(self) -> dict[str, tuple[float, float]]:
        """Each named shape's best (FWHM in pixels, misfit), for the shapes that were tried."""
        best = {name: self.best_width(power) for name, power in SHAPE_POWER.items()}
        return {name: b for name, b in best.items() if b is not None}

    @property
    def shape_seen(self) -> bool:
        """Whether the data prefer one named shape clearly (see ``SHAPE_SEEN_RATIO``); True when it was given."""
        if self.shape_given or len(self.alternatives) < 2:
            return True
        misfits = sorted(m for _, m in self.alternatives.values())
        return misfits[1] >= SHAPE_SEEN_RATIO * max(misfits[0], 1e-12)

    @property
    def at_edge(self) -> str | None:
        """Where the best width sits at an end of the widths tried ("narrow", "wide": cut off there), else None."""
        widths = sorted({w for w, _, _ in self.table})
        if len(widths) <= 2 * EDGE_CANDIDATES:
            return None
        best = min(self.table, key=lambda row: row[2])[0]
        if best <= widths[EDGE_CANDIDATES - 1]:
            return "narrow"
        return "wide" if best >= widths[-EDGE_CANDIDATES] else None

    def edge_note(self, pixel: float = 1.0, unit: str = "pixels") -> str | None:
        """One line when the width is cut off by the search's edge: what it means for the result, and the fix."""
        if self.at_edge is None:
            return None
        unit = f" {unit}" if unit else ""
        fwhm = f"FWHM {self.profile.fwhm * pixel:.3g}{unit}"
        width = f"the blind slice profile came out at the {EXTREME[self.at_edge]} width tried ({fwhm})"
        if self.at_edge == "narrow":
            why = "the stack did not show its profile (few slices, or planes unlike Z); Z may be sharpened too little"
        else:
            why = (
                "Z is far blurrier than the planes (an axial PSF?); Z is sharpened hard towards the planes' resolution"
            )
        return f"{width}: {why}; if you know the slice thickness, give it (--fwhm; in napari, slice FWHM)"

    def summary(self) -> dict:
        out = {**self.profile.to_dict(), "misfit": round(self.misfit, 5), "method": "spectral"}
        out["shape_given"] = self.shape_given
        out["at_edge"] = self.at_edge
        if not self.shape_given:
            out["shape_seen"] = self.shape_seen
            out["alternatives"] = {
                name: {"fwhm_pixels": round(fwhm, 4), "misfit": round(misfit, 5)}
                for name, (fwhm, misfit) in self.alternatives.items()
            }
        return out

    def overlap_note(self, step: float, pixel: float = 1.0, unit: str = "pixels") -> str | None:
        """One line when the profile reaches further than slices ``step`` pixels thick (``OVERLAP_RATIO``): Z holds
        more blur than its step (thick sections, the optics' axial blur), which the result removes too."""
        ratio = self.profile.reach(step)
        if self.at_edge == "wide" or ratio <= OVERLAP_RATIO:  # a width cut off wide has its own note
            return None
        unit = f" {unit}" if unit else ""
        return (
            f"the blind slice profile (FWHM {self.profile.fwhm * pixel:.3g}{unit}) reaches {ratio:.2g} times as far "
            "as slices one Z step thick: Z holds more blur than its step (thick sections, or the optics' axial blur), "
            "and the result sharpens Z towards the planes' resolution, past what the stack recorded along Z; to keep "
            "that blur, give the slice thickness (--fwhm; in napari, slice FWHM)"
        )

    def shape_note(self, pixel: float = 1.0, unit: str = "pixels") -> str | None:
        """One line when the shape was not seen: both named shapes' widths (FWHM times ``pixel``) and the fix."""
        if self.shape_seen:
            return None
        alt = self.alternatives
        unit = f" {unit}" if unit else ""
        widths = " and ".join(f"a {name} of FWHM {alt[name][0] * pixel:.3g}{unit}" for name in ("gaussian", "rect"))
        return (
            f"the slice profile's shape is not seen in this stack: {widths} fit it alike; if you know the shape "
            "(2-D multislice MRI: rect; confocal or light sheet: gaussian), give it (--shape; in napari, slice shape) "
            "and only the width is estimated"
        )


def _autocorrelation(lines: np.ndarray, lags: int) -> np.ndarray:
    """Mean autocorrelation of rows of ``lines`` (already centred), lags ``0..lags-1``, unbiased."""
    n = lines.shape[1]
    size = int(2 ** np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(lines, size, axis=1)
    acf = np.fft.irfft((spec * spec.conj()).real.sum(axis=0), size)[:lags]
    return acf / (lines.shape[0] * (n - np.arange(lags)))


def _pick(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.choice(count, size=min(count, MAX_LINES), replace=False)


def _in_plane_acf(
    volume: np.ndarray, lags: int, mean: float, rng: np.random.Generator, directions: str = "yx"
) -> np.ndarray:
    z, h, w = volume.shape
    parts = []
    for axis, lines in (("y", volume.transpose(0, 2, 1).reshape(-1, h)), ("x", volume.reshape(-1, w))):
        if axis in directions and lines.shape[1] > lags:
            parts.append(_autocorrelation(lines[_pick(rng, lines.shape[0])] - mean, lags))
    if not parts:
        raise DualSRInputError("the planes are too small to estimate the slice profile; give --fwhm or --profile")
    return np.mean(parts, axis=0)


def _spectrum(acf: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Blackman-Tukey: the autocorrelation tapered by a Hann lag window, cosine-transformed."""
    k = np.arange(len(acf))
    taper = 0.5 * (1 + np.cos(np.pi * k / len(acf)))
    c = acf * taper
    return c[0] + 2 * np.cos(2 * np.pi * np.outer(freqs, k[1:])) @ c[1:]


def estimate_profile(
    volume: np.ndarray,
    factor: float,
    fwhms: np.ndarray | None = None,
    powers: tuple[float, ...] = POWERS,
    seed: int = 0,
    free_gain: bool = True,
    slab: bool = True,
    directions: str = "yx",
    low: float = 0.0,
) -> ProfileEstimate:
    """Estimate the slice profile of ``(Z, Y, X)`` ``volume`` acquired with step ``factor`` (pixels).

    ``slab=False`` takes the in-plane lines as the object's (the first version); ``directions``
    ("yx", "y" or "x") picks the in-plane lines used; ``low`` leaves slice frequencies below it
    (cycles per slice) out of the fit. The last three exist for the study
    ``benchmarks/studies/isotropic/profile_estimators.py``; the defaults are what ships.
    """
    z = volume.shape[0]
    lags = min(MAX_LAGS, z - 1)
    if lags < 4:
        raise DualSRInputError(f"{z} slices are too few to estimate the slice profile; give --fwhm or --profile")
    rng = np.random.default_rng(seed)
    data = volume.astype(np.float32, copy=False)
    mean = float(data.mean())
    zlines = np.diff(data.reshape(z, -1).T, axis=1)  # differences: blind to each line's level
    if not np.any(zlines):  # every candidate would fit alike: the pick would be the first one tried
        raise DualSRInputError(
            "the slices are all alike (nothing changes along Z), so the stack shows no slice profile; "
            "give it (--fwhm or --profile; in napari, slice FWHM)"
        )
    if not np.any(np.ptp(data, axis=(1, 2))):  # the in-plane lines would be flat: nothing to compare Z with
        raise DualSRInputError(
            "every plane is flat (nothing changes within a plane), so the planes show nothing to compare Z with; "
            "give the slice profile (--fwhm or --profile; in napari, slice FWHM)"
        )
    measured_acf = _autocorrelation(zlines[_pick(rng, zlines.shape[0])], lags)
    fwhms = np.geomspace(0.25 * factor, 3.0 * factor, 64) if fwhms is None else np.asarray(fwhms, float)
    # room for `lags` slices after up to a period of phases, plus the widest profile's reach
    phases = _phases(factor)
    reach = int(np.ceil(2.5 * fwhms.max())) + 2
    length = int(np.ceil((lags + phases + 2) * factor)) + 2 * reach
    in_plane = _in_plane_acf(data, min(length, min(volume.shape[1:]) - 1), mean, rng, directions)
    if len(in_plane) < length:  # small planes: the autocorrelation beyond them taken as zero
        in_plane = np.concatenate([in_plane, np.zeros(length - len(in_plane))])
    freqs = np.linspace(0.5 / lags, 0.5, lags)
    log_measured = np.log(np.maximum(_spectrum(measured_acf, freqs), 1e-12))
    # a free gain: the directions may hold different amounts of structure
    design = np.ones((len(freqs), 1)) if free_gain else np.zeros((len(freqs), 1))
    band = freqs >= low
    best = None
    table = []
    for power in powers:
        for fwhm in fwhms:
            profile = generalised(float(fwhm), power)
            sim = _simulated_acf(profile, factor, length, reach, lags, phases, in_plane, slab)
            log_sim = np.log(np.maximum(_spectrum(sim, freqs), 1e-12))
            resid = (log_measured - log_sim)[band]
            coef, *_ = np.linalg.lstsq(design[band], resid, rcond=None)
            misfit = float(np.mean((resid - design[band] @ coef) ** 2))
            table.append((float(fwhm), power, misfit))
            if best is None or misfit < best[0]:
                best = (misfit, profile, log_sim + design @ coef)
    assert best is not None
    return ProfileEstimate(best[1], best[0], freqs, np.exp(log_measured), np.exp(best[2]), table)


def _phases(factor: float) -> int:
    """Slices after which the slice positions repeat on the pixel grid (1 for integer factors), at most 8."""
    for p in range(1, 9):
        if abs(p * factor - round(p * factor)) < 1e-6:
            return p
    return 8


def _slab_matrix(d: np.ndarray, phases: int, length: int) -> np.ndarray:
    """``A`` with ``in-plane acf = A @ object acf``: a slice's in-plane lines are slabs, not lines.

    A slice averages the object over its profile along Z, so the autocorrelation of its
    in-plane lines at lag ``t`` is that of the object averaged over the offsets ``(t, u)``,
    ``u`` weighted by the profile's autocorrelation ``g``. If the object is isotropic, the
    object's autocorrelation at ``(t, u)`` is its value at radius ``sqrt(t^2 + u^2)``
    (linear between integer lags; past the last lag, the last).
    """
    g = np.mean([np.correlate(d[i], d[i], "full") for i in range(phases)], axis=0)
    u = np.arange(len(g)) - (len(g) - 1) // 2
    keep = g > 1e-9 * g.max()
    g, u = g[keep], u[keep]
    t = np.arange(length)
    r = np.minimum(np.hypot(t[:, None], u[None, :]), length - 1)
    lo = np.minimum(np.floor(r).astype(int), length - 2)
    frac = r - lo
    a = np.zeros((length, length))
    rows = np.broadcast_to(t[:, None], r.shape)
    np.add.at(a, (rows, lo), g * (1 - frac))
    np.add.at(a, (rows, lo + 1), g * frac)
    return a


def _simulated_acf(
    profile: SliceProfile,
    factor: float,
    length: int,
    reach: int,
    lags: int,
    phases: int,
    in_plane: np.ndarray,
    slab: bool = True,
) -> np.ndarray:
    """Autocorrelation of slices' differences, acquired through ``profile`` from in-plane lines'
    autocorrelation ``in_plane`` (``slab``: those lines taken as the slices' own, blurred along Z)."""
    d = interior_matrix(length, factor, profile, lags + phases + 2, reach)
    acf = in_plane
    if slab:
        acf = np.linalg.solve(_slab_matrix(d, phases, length), in_plane)
    idx = np.arange(length)
    c = d @ acf[np.abs(idx[:, None] - idx[None, :])] @ d.T
    acf = np.array([np.mean([c[i + 1, i + 1 + k] for i in range(phases)]) for k in range(lags + 1)])
    prev = np.concatenate([[acf[1]], acf[:-2]])
    return 2 * acf[:-1] - prev - acf[1:]  # of the slices' differences, as measured
