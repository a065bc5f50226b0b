"""Intensity normalisation: any input range into [0, 1] for training, and back.

DualSR's losses assume intensities in [0, 1] (the Sobel mask clamps at 1, the kernel
prior's threshold is absolute). 8-bit data maps by its dtype range, as the paper's
PNGs do; everything else by robust percentiles, so that a few hot pixels in a 16-bit
or float image do not squash the rest. Results go back to the input's range and dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from dualsr.errors import DualSRInputError

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


def sample_step(size: int) -> int:
    """Stride of the percentile sample of ``size`` values (C order): all of them up to 4M."""
    return size // _MAX_SAMPLES + 1 if size > _MAX_SAMPLES else 1


def _sample(values: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1)
    return flat[:: sample_step(flat.size)]


def _extent(values: np.ndarray) -> tuple[float, float]:
    return float(values.min()), float(values.max())


def robust_range(
    sample: np.ndarray, extent: Callable[[], tuple[float, float]], percentiles: tuple[float, float] = PERCENTILES
) -> tuple[float, float]:
    """``low``/``high`` from a sample's percentiles; ``extent()`` (min, max) when they coincide.

    The percentiles depend only on the sample's values, not their order, so a sample
    gathered block by block gives the same range as one taken from the whole array.
    """
    lo, hi = np.percentile(sample.astype(np.float64), percentiles, overwrite_input=True)  # no 2nd copy
    if not hi > lo:  # (nearly) constant: fall back to the full extent, then to a unit range
        lo, hi = extent()
        if not hi > lo:
            hi = lo + 1.0
    return float(lo), float(hi)


def dtype_normalization(dtype: np.dtype, channels: int = 1) -> Normalization:
    """The integer type's full range (8-bit data, as the paper's PNGs): no pixel needs reading."""
    if not np.issubdtype(dtype, np.integer):
        raise DualSRInputError("normalisation 'dtype' needs integer data; use 'percentile' for floats")
    info = np.iinfo(dtype)
    return Normalization((float(info.min),) * channels, (float(info.max),) * channels, np.dtype(dtype).str, "dtype")


def strided_sample(block: np.ndarray, start: tuple[int, ...], shape: tuple[int, ...], step: int) -> np.ndarray:
    """A block's share of the percentile sample of the whole array of ``shape``.

    ``block`` sits at ``start``; its values whose C-order flat index in the whole array
    is a multiple of ``step`` are the ones ``_sample`` takes, so the blocks' shares
    together are exactly the whole array's sample, read one block at a time.
    """
    if step == 1:
        return block.reshape(-1)
    strides = np.cumprod((*shape[1:], 1)[::-1])[::-1]
    flat = np.zeros((1,) * block.ndim, dtype=np.int64)
    for d, (s0, n, stride) in enumerate(zip(start, block.shape, strides)):
        index = (np.arange(s0, s0 + n, dtype=np.int64) * int(stride)) % step
        flat = flat + index.reshape((1,) * d + (n,) + (1,) * (block.ndim - d - 1))
    return block[flat % step == 0]


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
        return dtype_normalization(dtype, 1 if channel_axis is None else data.shape[channel_axis])
    channels = (
        [data]
        if channel_axis is None
        else [np.take(data, i, axis=channel_axis) for i in range(data.shape[channel_axis])]
    )
    ranges = [robust_range(_sample(ch), lambda ch=ch: _extent(ch), percentiles) for ch in channels]
    return Normalization(tuple(r[0] for r in ranges), tuple(r[1] for r in ranges), dtype.str, mode)
