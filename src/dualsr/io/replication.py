"""Images stored at more pixels than they hold: a nearest-neighbour enlargement, found and undone.

A viewer's export, a resampled screenshot or a dataset's convenience copy can be an image whose
every ``f x f`` block is one value: scikit-image's ``moon`` is a 256^2 image stored at 512^2. Such
an image holds nothing at its own pixel scale that its native grid does not: as a benchmark truth
it scores a x2 against blocks no acquisition makes (the camera-binned moon's "HR" was its native
pixels replicated, so only nearest-neighbour could match it), and as an input its x2 is a x2 of
the blocks. :func:`replication` finds the factor and the blocks' offset; :func:`native_grid`
keeps one pixel per block.
"""

from __future__ import annotations

import numpy as np

FACTORS = (4, 3, 2)  # enlargements looked for, largest first (a 4x enlargement is also 2x)
STRIP = 8  # rows of blocks tried first, before the whole image
MIN_VARYING = 0.01  # the native image must differ between neighbours here at least (a flat image is no enlargement)


def replication(image: np.ndarray) -> tuple[int, tuple[int, int]]:
    """``(factor, (dy, dx))`` when every ``factor x factor`` block from ``(dy, dx)`` on holds one value (all
    channels), else ``(1, (0, 0))``. ``image`` is ``(H, W)`` or ``(H, W, C)``."""
    data = np.asarray(image)
    for f in FACTORS:
        if min(data.shape[:2]) < 4 * f:
            continue
        for dy in range(f):
            for dx in range(f):
                if not _blocks_constant(data[: dy + STRIP * f], f, dy, dx):  # most images fail here, at once
                    continue
                if _blocks_constant(data, f, dy, dx) and _varies(data[dy::f, dx::f]):
                    return f, (dy, dx)
    return 1, (0, 0)


def native_grid(image: np.ndarray) -> np.ndarray:
    """One pixel per replicated block (the image itself where it is not an enlargement)."""
    f, (dy, dx) = replication(image)
    if f == 1:
        return np.asarray(image)
    data = np.asarray(image)
    h, w = (data.shape[0] - dy) // f * f, (data.shape[1] - dx) // f * f
    return np.ascontiguousarray(data[dy : dy + h : f, dx : dx + w : f])


def _blocks_constant(data: np.ndarray, f: int, dy: int, dx: int) -> bool:
    h, w = (data.shape[0] - dy) // f * f, (data.shape[1] - dx) // f * f
    blocks = data[dy : dy + h, dx : dx + w].reshape(h // f, f, w // f, f, *data.shape[2:])
    return bool(np.all(blocks == blocks[:, :1, :, :1]))


def _varies(native: np.ndarray) -> bool:
    """Neighbouring native pixels differ often enough for the blocks to mean something."""
    rows = np.any(native[1:] != native[:-1], axis=tuple(range(2, native.ndim)))
    return bool(rows.mean() >= MIN_VARYING)


__all__ = ["FACTORS", "MIN_VARYING", "native_grid", "replication"]
