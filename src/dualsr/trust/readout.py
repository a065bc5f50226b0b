"""The resolution before and after, in the sample's units, and the one-line verdict a user reads.

Decorrelation analysis (:mod:`dualsr.trust.resolution`) of the input and of its x2: the x2's
resolution in its own pixels is halved into the input's, then into nm or um where the pixel size
is known. ``kc`` of the x2 is reported as a fraction of the x2 grid's Nyquist frequency, measured on
the x2 cleared of the spectral images any linear interpolator of the input puts above the input's
Nyquist (:func:`~dualsr.trust.resolution.deimaged`): decorrelation reads those copies as structure
(bicubic of a sharp input: 0.8), so without that it would credit interpolation with resolution. Cleared,
bicubic stays at about 0.5 there (the input's Nyquist); new detail goes above it. The x2 counts as
"gained" only where it reads finer than the input and than the input's bicubic x2 read the same way
(``interpolation_kc``: the input's square band on the x2 grid reaches past the disc its own kc is read in).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualsr.inference.crossscale import KEPT_UNCERTAIN
from dualsr.paper.patches import to_gray
from dualsr.trust.resolution import APODISATION, Resolution, decorrelation, deimaged, interpolated

MAX_SIDE = 384  # planes are measured on their central crop of at most this side (input pixels): 3-4 s
MIN_SIDE = 2 * APODISATION + 8  # smaller planes are not measured


def grey(plane: np.ndarray) -> np.ndarray:
    """A ``(C, H, W)`` plane as one grey image: :func:`~dualsr.paper.patches.to_gray` (luma for RGB, the
    mean otherwise), RGBA's alpha left out."""
    p = np.asarray(plane, dtype=np.float64)
    return p if p.ndim == 2 else to_gray(p[:3] if p.shape[0] >= 3 else p)


def centres(lr: np.ndarray, x2: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The input's central crop of at most ``side`` and the x2's crop over the same area (its 2x2 grid kept)."""
    h, w = lr.shape
    y, x = max((h - side) // 2, 0), max((w - side) // 2, 0)
    crop = lr[y : y + side, x : x + side]
    return crop, x2[2 * y : 2 * y + 2 * crop.shape[0], 2 * x : 2 * x + 2 * crop.shape[1]]


def readout(lr_plane: np.ndarray, x2_plane: np.ndarray, pixel_size: float | None = None) -> dict[str, Any]:
    """Resolution of one input plane and of its x2 (``(C, H, W)`` or ``(H, W)``, the x2 twice the input's
    size); ``pixel_size`` in um."""
    lr, x2 = centres(grey(lr_plane), grey(x2_plane), MAX_SIDE)
    before = decorrelation(lr)
    after = decorrelation(deimaged(lr, x2))
    linear = decorrelation(interpolated(lr))
    unit, scale = (
        ("px", 1.0) if not pixel_size else (("nm", 1000 * pixel_size) if pixel_size < 10 else ("um", pixel_size))
    )
    digits = 3 if unit == "px" else 1

    def size(r: Resolution, pixel: float) -> float | None:  # None: no structure above the noise to measure
        return round(r.pixels * pixel * scale, digits) if r.kc > 0 else None

    return {
        "unit": unit,
        "input": size(before, 1.0),
        "x2": size(after, 0.5),
        "input_kc": round(before.kc, 4),
        "x2_kc": round(after.kc, 4),
        "interpolation": size(linear, 0.5),
        "interpolation_kc": round(linear.kc, 4),
        "snr": round(before.snr, 3),
    }


def plane_resolution(
    lr_plane: np.ndarray, x2_plane: np.ndarray, pixel_size: float | None = None
) -> dict[str, Any] | None:
    """:func:`readout` of one canonical ``(C, H, W)`` plane and its x2 (``pixel_size`` in um, where known);
    None for planes too small to measure."""
    if min(np.shape(lr_plane)[-2:]) < MIN_SIDE:
        return None
    return readout(lr_plane, x2_plane, pixel_size)


def _finer(resolution: dict[str, Any], kc: float) -> bool:
    """The x2 reads at least 5 % finer than ``kc`` (a fraction of the x2 grid's Nyquist)."""
    return resolution["x2_kc"] > kc / 0.95


def gained(resolution: dict[str, Any]) -> bool:
    """The x2 reads at least 5 % finer than the input and than its bicubic x2 (where measured)."""
    return _finer(resolution, max(resolution["input_kc"] / 2, resolution.get("interpolation_kc", 0.0)))


def verdict(
    resolution: dict[str, Any] | None,
    doubt: dict[str, Any] | None = None,
    uncertain: bool = False,
    kept: float | None = None,
) -> str:
    """One line: "resolution 412 -> 287 nm; 3 % of the image in doubt (kernel uncertain there)";
    ``kept``: the share of detail the cross-scale check kept (:mod:`dualsr.inference.crossscale`)."""
    parts = []
    if resolution and None in (resolution["input"], resolution["x2"]):
        parts.append("resolution not measurable (no structure above the noise)")
    elif resolution:
        unit = resolution["unit"]
        fmt = "{:.2f}" if unit == "px" else "{:.0f}"
        before, after = (fmt.format(resolution[k]) for k in ("input", "x2"))
        gain = "gained" if gained(resolution) else "not gained"
        floor = resolution.get("interpolation")
        if gain == "not gained" and floor and _finer(resolution, resolution["input_kc"] / 2):
            gain = f"not gained: no finer than bicubic's {fmt.format(floor)} {unit}"  # finer than the input only
        parts.append(f"resolution {before} -> {after} {unit} ({gain}; SNR proxy {resolution['snr']:.2f})")
    if doubt:
        parts.append(f"{100 * doubt['in_doubt']:.0f} % of the image in doubt")
    line = "; ".join(parts)
    if uncertain:
        line += " (kernel uncertain: the x2 may be under- or over-sharpened)"
    if kept is not None and kept < KEPT_UNCERTAIN:
        line += (
            f" (detail uncertain: {100 * kept:.0f} % of the detail held up one scale down; the x2 stays near "
            "bicubic where it did not)"
        )
    return line


__all__ = ["MAX_SIDE", "MIN_SIDE", "gained", "plane_resolution", "readout", "verdict"]
