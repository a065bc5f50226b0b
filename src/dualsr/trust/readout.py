"""The resolution before and after, in the sample's units, and the one-line verdict a user reads.

Decorrelation analysis (:mod:`dualsr.trust.resolution`) of the input and of its x2: the x2's
resolution in its own pixels is halved into the input's, then into nm or um where the pixel size
is known. ``kc`` of the x2 is reported as a fraction of the x2 grid's Nyquist frequency: bicubic
cannot exceed about 0.5 there (the input's Nyquist), new detail can.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualsr.inference.crossscale import KEPT_UNCERTAIN
from dualsr.paper.patches import to_gray
from dualsr.trust.resolution import APODISATION, Resolution, decorrelation

MAX_SIDE = 384  # planes are measured on their central crop of at most this side (input pixels): ~2 s
MIN_SIDE = 2 * APODISATION + 8  # smaller planes are not measured


def grey(plane: np.ndarray) -> np.ndarray:
    """A ``(C, H, W)`` plane as one grey image: :func:`~dualsr.paper.patches.to_gray` (luma for RGB, the
    mean otherwise), RGBA's alpha left out."""
    p = np.asarray(plane, dtype=np.float64)
    return p if p.ndim == 2 else to_gray(p[:3] if p.shape[0] >= 3 else p)


def centre(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape
    y, x = max((h - side) // 2, 0), max((w - side) // 2, 0)
    return image[y : y + side, x : x + side]


def readout(lr_plane: np.ndarray, x2_plane: np.ndarray, pixel_size: float | None = None) -> dict[str, Any]:
    """Resolution of one input plane and of its x2 (``(C, H, W)`` or ``(H, W)``); ``pixel_size`` in um."""
    before = decorrelation(centre(grey(lr_plane), MAX_SIDE))
    after = decorrelation(centre(grey(x2_plane), 2 * MAX_SIDE))
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
        gain = "gained" if resolution["x2"] < 0.95 * resolution["input"] else "not gained"
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


__all__ = ["MAX_SIDE", "MIN_SIDE", "plane_resolution", "readout", "verdict"]
