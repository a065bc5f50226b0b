"""Tiled x2 inference whose result equals one-piece inference.

G_UP sees 1 LR pixel around each output through its bilinear stage and 8 HR pixels
(4 LR) through its eight 3x3 convolutions, so a margin of 8 LR pixels around each tile
makes every kept output pixel exactly what whole-image inference gives.

Out of memory on a tile (a GPU shared with other programs, a too large ``tile``), the
tile is split and retried, down to ``MIN_TILE``; :func:`cpu_fallback` then reruns the
whole image on the CPU. Splitting is exact too, so the result never changes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.io.normalize import Normalization

MARGIN = 8  # G_UP's own; a module with a wider reach says so in a ``margin`` attribute (model_margin)
MIN_TILE = 32  # > 2 * MARGIN, so splitting a tile always makes smaller pieces (down to 48 px)
T = TypeVar("T")


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's ``OutOfMemoryError`` (CUDA or CPU) or onnxruntime's failed allocation."""
    if isinstance(exc, DualSRInputError):
        return False
    text = str(exc).lower()
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text or "failed to allocate memory" in text


def _piece(fn: Callable[[np.ndarray], np.ndarray], piece: np.ndarray, scale: int, margin: int) -> np.ndarray:
    """``fn(piece)``; out of memory, the batch is halved, then the tile, and each part retried."""
    n, _, h, w = piece.shape
    side = max(max(h, w) // 2, MIN_TILE)
    side += side % 2  # as tiled_upsample rounds it
    try:
        return fn(piece)
    except Exception as exc:  # splitting must make smaller pieces: side + 2 * margin < max(h, w)
        if not is_out_of_memory(exc) or (n == 1 and side + 2 * margin >= max(h, w)):
            raise
    if n > 1:
        return np.concatenate([_piece(fn, part, scale, margin) for part in (piece[: n // 2], piece[n // 2 :])])
    warnings.warn(f"out of memory on a {h}x{w} tile; retrying in {side}-pixel tiles", RuntimeWarning, stacklevel=2)
    return tiled_upsample(fn, piece, tile=side, scale=scale, margin=margin)


def cpu_fallback(attempt: Callable[[str], T], device: str) -> T:
    """``attempt(device)``; out of memory on a GPU even in small tiles, once more on the CPU."""
    try:
        return attempt(device)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        if device == "cpu":
            raise DualSRInputError(
                f"out of memory while super-resolving, even in {MIN_TILE}-pixel tiles; close other programs "
                "or process the stack in parts"
            ) from exc
    warnings.warn(
        f"{device} ran out of memory while super-resolving; running on the CPU instead (slower, same result)",
        RuntimeWarning,
        stacklevel=2,
    )
    return attempt("cpu")


def tiles(length: int, tile: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive tiles covering ``range(length)``."""
    for start in range(0, length, tile):
        yield start, min(start + tile, length)


def tiled_upsample(
    fn: Callable[[np.ndarray], np.ndarray],
    planes: np.ndarray,
    tile: int | None = 512,
    scale: int = 2,
    margin: int = MARGIN,
    progress: Callable[[int, int], None] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``fn`` (``(N, C, h, w)`` -> ``(N, C, s*h, s*w)``) to ``(N, C, H, W)`` in tiles.

    ``tile`` is the LR tile side (``None`` or 0: one piece; odd sides are rounded up to even). ``progress(done, total)``
    is called after each tile; ``out`` may be a preallocated (e.g. memory-mapped) array.
    """
    n, c, h, w = planes.shape
    if out is None:
        out = np.empty((n, c, scale * h, scale * w), dtype=np.float32)
    tile = tile and tile + tile % 2  # even: every tile starts on the LR's 2x2 grid (the cross-scale check)
    if not tile or (h <= tile and w <= tile):
        out[:] = _piece(fn, np.ascontiguousarray(planes, dtype=np.float32), scale, margin)
        if progress:
            progress(1, 1)
        return out
    boxes = [(r, c2) for r in tiles(h, tile) for c2 in tiles(w, tile)]
    for i, ((r0, r1), (c0, c1)) in enumerate(boxes):
        pr0, pr1 = max(r0 - margin, 0), min(r1 + margin, h)
        pc0, pc1 = max(c0 - margin, 0), min(c1 + margin, w)
        piece = _piece(fn, np.ascontiguousarray(planes[:, :, pr0:pr1, pc0:pc1], dtype=np.float32), scale, margin)
        oy, ox = scale * (r0 - pr0), scale * (c0 - pc0)
        out[:, :, scale * r0 : scale * r1, scale * c0 : scale * c1] = piece[
            :, :, oy : oy + scale * (r1 - r0), ox : ox + scale * (c1 - c0)
        ]
        if progress:
            progress(i + 1, len(boxes))
    return out


class _Restoring:
    """An ``out=`` target for :func:`tiled_upsample` that undoes the normalisation per tile.

    Writing tiles straight into the output dtype keeps the peak memory at input + output,
    where a float32 buffer and a float64 inversion would cost 3-6x the output again.
    """

    def __init__(self, target: np.ndarray, norm: Normalization, channel_axis: int | None) -> None:
        self.target, self.norm, self.channel_axis = target, norm, channel_axis

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        self.target[key] = self.norm.invert(value, channel_axis=self.channel_axis)


def model_margin(model: Any) -> int:
    """LR pixels of context that make ``model``'s tiles exact: the widest of its parts' ``margin``."""
    modules = model.modules() if hasattr(model, "modules") else [model]
    return max([MARGIN, *(int(getattr(m, "margin", 0)) for m in modules)])


def upsample_planes(
    fn: Callable[[np.ndarray], np.ndarray],
    planes: np.ndarray,
    norm: Normalization,
    channel_axis: int | None,
    tile: int | None = 512,
    scale: int = 2,
    progress: Callable[[int, int], None] | None = None,
    margin: int = MARGIN,
) -> np.ndarray:
    """Normalise, upsample in exact tiles and restore ``(P, C, H, W)`` raw planes.

    ``fn`` maps normalised float32 ``(N, C, h, w)`` to ``(N, C, s*h, s*w)``. Small planes
    go through together, large ones one by one; tiles are normalised on the fly and
    written back in the input's dtype, so the only full-size arrays are input and output.
    """
    p, c, h, w = planes.shape
    out = np.empty((p, c, scale * h, scale * w), np.dtype(norm.dtype))
    step = max(1, min(p, (tile or 512) ** 2 // max(1, h * w)))
    batches = range(0, p, step)

    def run(raw: np.ndarray) -> np.ndarray:
        return fn(norm.apply(raw, channel_axis=channel_axis))

    for b, start in enumerate(batches):
        stop = min(start + step, p)
        report = None if progress is None else (lambda d, t, b=b: progress(b * t + d, len(batches) * t))
        writer = _Restoring(out[start:stop], norm, channel_axis)
        tiled_upsample(run, planes[start:stop], tile=tile, scale=scale, margin=margin, progress=report, out=writer)
    return out
