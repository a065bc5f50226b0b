"""Intensity normalisation: any input range into [0, 1] for training, and back.

DualSR's losses assume intensities in [0, 1] (the Sobel mask clamps at 1, the kernel
prior's threshold is absolute). 8-bit data maps by its dtype range, as the paper's
PNGs do; everything else by robust percentiles, so that a few hot pixels in a 16-bit
or float image do not squash the rest. Results go back to the input's range and dtype.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import DualSRInputError

MODES = ("auto", "dtype", "percentile")
PERCENTILES = (0.1, 99.9)
_MAX_SAMPLES = 4_000_000


@dataclass(frozen=True)
class Normalization:
    """``normalised = (raw - low) / (high - low)``, per channel; ``dtype`` is restored."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    dtype: str
    mode: str

    def apply(self, data: np.ndarray, channel_axis: int | None = None) -> np.ndarray:
        low, high = self._shaped(data.ndim, channel_axis)
        out = data.astype(np.float32)  # the one plane-size copy; the rest is in place
        out -= low
        out /= high - low
        return out

    def invert(self, data: np.ndarray, channel_axis: int | None = None) -> np.ndarray:
        low, high = self._shaped(data.ndim, channel_axis)
        raw = data.astype(np.float64) * (high - low) + low
        return to_dtype(raw, np.dtype(self.dtype))

    def _shaped(self, ndim: int, channel_axis: int | None) -> tuple[np.ndarray, np.ndarray]:
        low = np.asarray(self.low, dtype=np.float64)
        high = np.asarray(self.high, dtype=np.float64)
        if low.size > 1:
            if channel_axis is None:
                raise ValueError("per-channel normalisation needs the channel axis")
            shape = [1] * ndim
            shape[channel_axis] = low.size
            low, high = low.reshape(shape), high.reshape(shape)
        return low.astype(np.float32), high.astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        return cls(tuple(d["low"]), tuple(d["high"]), d["dtype"], d["mode"])


def to_dtype(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip to an integer dtype's range; cast floats as they are."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(data), info.min, info.max).astype(dtype)
    return data.astype(dtype)


def _sample(values: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1)
    if flat.size > _MAX_SAMPLES:
        flat = flat[:: flat.size // _MAX_SAMPLES + 1]
    return flat


def fit_normalization(
    data: np.ndarray,
    mode: str = "auto",
    channel_axis: int | None = None,
    percentiles: tuple[float, float] = PERCENTILES,
) -> Normalization:
    """Choose ``low``/``high`` for ``data`` (per channel when ``channel_axis`` is given)."""
    if mode not in MODES:
        raise DualSRInputError(f"unknown normalisation {mode!r}; use one of {', '.join(MODES)}")
    dtype = data.dtype
    if mode == "auto":
        mode = "dtype" if dtype == np.uint8 else "percentile"
    if mode == "dtype":
        if not np.issubdtype(dtype, np.integer):
            raise DualSRInputError("normalisation 'dtype' needs integer data; use 'percentile' for floats")
        info = np.iinfo(dtype)
        n = 1 if channel_axis is None else data.shape[channel_axis]
        return Normalization((float(info.min),) * n, (float(info.max),) * n, dtype.str, mode)
    channels = (
        [data]
        if channel_axis is None
        else [np.take(data, i, axis=channel_axis) for i in range(data.shape[channel_axis])]
    )
    lows, highs = [], []
    for ch in channels:
        lo, hi = np.percentile(_sample(ch).astype(np.float64), percentiles, overwrite_input=True)  # no 2nd copy
        if not hi > lo:  # (nearly) constant: fall back to the full extent, then to a unit range
            lo, hi = float(ch.min()), float(ch.max())
            if not hi > lo:
                hi = lo + 1.0
        lows.append(float(lo))
        highs.append(float(hi))
    return Normalization(tuple(lows), tuple(highs), dtype.str, mode)
