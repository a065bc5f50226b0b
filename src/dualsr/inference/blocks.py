"""Arrays larger than memory, block by block, with results equal to one-piece inference.

A block is one plane of the stack (all its channels) and a rectangle of it. It is read
with the tiling margin around it (the model's ``margin``, ``tile_margin`` in its file; clipped at the
array's edges exactly as ``tiled_upsample`` clips its tiles), upsampled and cropped
back, so blocks side by side equal one-piece inference bit for bit, and a worker holds
one block at a time whatever the array's size. Each block's result is one chunk of the
output array.

The intensity normalisation must be the whole array's, as in one-piece inference: one
pass reads every block once and keeps its share of the strided percentile sample
(:func:`dualsr.io.normalize.strided_sample`), so the shares together are exactly the
sample ``fit_normalization`` takes from the array in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.io.axes import Layout
from dualsr.io.normalize import Normalization, dtype_normalization, robust_range, sample_step, strided_sample
from dualsr.io.validate import check_image

Reader = Callable[[tuple[slice, ...]], np.ndarray]


@dataclass(frozen=True)
class Block:
    """One LR block: ``plane`` indexes the stack axes (in the order of the axes), then a rectangle."""

    plane: tuple[int, ...]
    rows: tuple[int, int]
    cols: tuple[int, int]

    def lr_slices(self, layout: Layout, margin: int = 0) -> tuple[slice, ...]:
        """Where the block (grown by ``margin``, clipped at the edges) is in the input."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        spans = {"Y": (max(r0 - margin, 0), min(r1 + margin, layout.height))}
        spans["X"] = (max(c0 - margin, 0), min(c1 + margin, layout.width))
        return self._slices(layout, spans)

    def hr_slices(self, layout: Layout, scale: int) -> tuple[slice, ...]:
        """Where the block's result goes in the x``scale`` output."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        return self._slices(layout, {"Y": (scale * r0, scale * r1), "X": (scale * c0, scale * c1)})

    def _slices(self, layout: Layout, spans: dict[str, tuple[int, int]]) -> tuple[slice, ...]:
        stack = dict(zip(layout.stack_axes, self.plane))
        out = []
        for a in layout.axes:
            if a in spans:
                out.append(slice(*spans[a]))
            elif a in stack:
                out.append(slice(stack[a], stack[a] + 1))
            else:  # C: all channels go through the model together
                out.append(slice(None))
        return tuple(out)

    def chunk(self, layout: Layout, size: tuple[int, int]) -> tuple[int, ...]:
        """The output chunk this block fills, for output chunks of ``chunk_shape(layout, size)``."""
        stack = dict(zip(layout.stack_axes, self.plane))
        where = {"Y": self.rows[0] // size[0], "X": self.cols[0] // size[1], "C": 0}
        return tuple(stack[a] if a in stack else where[a] for a in layout.axes)


@dataclass(frozen=True)
class InProcess:
    """Blocks of an array this process holds (numpy, Zarr, or dask: computed here, one block at a time)."""

    data: Any

    def read(self, slices: tuple[slice, ...]) -> np.ndarray:
        part = self.data[slices]
        if hasattr(part, "compute"):  # dask: this thread computes it, never a cluster's scheduler
            part = part.compute(scheduler="sync")
        return np.asarray(part)


def chunk_shape(layout: Layout, size: tuple[int, int], scale: int) -> tuple[int, ...]:
    """Output chunks: one plane, every channel, ``scale`` x ``size`` on Y and X (one block each)."""
    spatial = {"Y": scale * size[0], "X": scale * size[1], "C": layout.channels}
    return tuple(spatial.get(a, 1) for a in layout.axes)


def plan(layout: Layout, size: tuple[int, int], first: int | None = None) -> list[Block]:
    """Every block, plane after plane, row-major inside a plane; flat plane ``first`` first."""
    planes = list(np.ndindex(*layout.stack_shape))
    if first is not None:
        planes.insert(0, planes.pop(first))
    rows = [(r, min(r + size[0], layout.height)) for r in range(0, layout.height, size[0])]
    cols = [(c, min(c + size[1], layout.width)) for c in range(0, layout.width, size[1])]
    return [Block(tuple(int(i) for i in p), r, c) for p in planes for r in rows for c in cols]


def block_size(tile: int, chunks: Sequence[int] | None, layout: Layout) -> tuple[int, int]:
    """LR block side: ``tile``, or when 0 the input's own Y/X chunks (kept within 64..2048)."""
    if tile:
        return tile, tile
    if chunks is None:
        return 512, 512
    y, x = chunks[layout.axes.index("Y")], chunks[layout.axes.index("X")]
    return min(max(int(y), 64), 2048), min(max(int(x), 64), 2048)


def check_dtype(dtype: np.dtype) -> None:
    """The dtype rule of one-piece inference, checked on one pixel before any block is read."""
    check_image(np.zeros((1, 1), dtype))


def upsample_block(model: Any, read: Reader, block: Block, layout: Layout, norm: Normalization) -> np.ndarray:
    """x``model.scale`` of one block: read with the margin, upsample, crop the margin off.

    ``model`` is an :class:`dualsr.runtime.onnx_runtime.OnnxUpsampler`; the result is in the
    input's dtype and axes order, shaped as ``block.hr_slices``.
    """
    src = block.lr_slices(layout, model.margin)
    raw = np.asarray(read(src))
    piece = Layout.of(raw.shape, layout.axes)
    out = model.upsample_normalized(raw, piece, norm)
    s = model.scale
    crop = []
    for a, sl in zip(layout.axes, src):
        if a == "Y":
            crop.append(slice(s * (block.rows[0] - sl.start), s * (block.rows[1] - sl.start)))
        elif a == "X":
            crop.append(slice(s * (block.cols[0] - sl.start), s * (block.cols[1] - sl.start)))
        else:
            crop.append(slice(None))
    return out[tuple(crop)]


@dataclass
class Share:
    """One block's part of the normalisation pass: per channel its sample and (min, max)."""

    samples: list[np.ndarray]
    extents: list[tuple[float, float]]
    nonfinite: int = 0


def sample_block(read: Reader, block: Block, layout: Layout, channel_axis: int | None) -> Share:
    """Read one block (no margin) and keep its share of the whole array's percentile sample."""
    slices = block.lr_slices(layout)
    data = np.asarray(read(slices))
    start = tuple(s.start or 0 for s in slices)
    nonfinite = 0 if np.issubdtype(data.dtype, np.integer) else int(data.size - np.count_nonzero(np.isfinite(data)))
    if channel_axis is None:
        parts, starts, shape = [data], [start], layout.shape
    else:
        parts = [np.take(data, i, axis=channel_axis) for i in range(data.shape[channel_axis])]
        starts = [start[:channel_axis] + start[channel_axis + 1 :]] * len(parts)
        shape = layout.shape[:channel_axis] + layout.shape[channel_axis + 1 :]
    step = sample_step(math.prod(shape))
    samples = [strided_sample(p, s, shape, step) for p, s in zip(parts, starts)]
    extents = [(float(p.min()), float(p.max())) for p in parts]
    return Share(samples, extents, nonfinite)


def fit_blockwise(shares: Sequence[Share], dtype: np.dtype) -> Normalization:
    """The whole array's percentile normalisation from every block's share (as in memory)."""
    nonfinite = sum(s.nonfinite for s in shares)
    if nonfinite:
        raise DualSRInputError(
            f"the image has {nonfinite} NaN/Inf pixels; replace them (e.g. with 0 or the median) first"
        )
    lows, highs = [], []
    for c in range(len(shares[0].samples)):
        sample = np.concatenate([s.samples[c] for s in shares])
        extent = (min(s.extents[c][0] for s in shares), max(s.extents[c][1] for s in shares))
        lo, hi = robust_range(sample, lambda extent=extent: extent)
        lows.append(lo)
        highs.append(hi)
    return Normalization(tuple(lows), tuple(highs), np.dtype(dtype).str, "percentile")


def dtype_only(model: Any, dtype: np.dtype, layout: Layout) -> Normalization | None:
    """The normalisation when it needs no pixel (an integer image, a model scaled by dtype)."""
    if model.mode_for(dtype) != "dtype":
        return None
    c_axis = model.channel_axis(layout)
    return dtype_normalization(dtype, 1 if c_axis is None else layout.shape[c_axis])
