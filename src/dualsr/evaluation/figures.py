"""Side-by-side comparison images (PNG) for people to look at."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from dualsr.paper.resize import bicubic_resize_np


def to_uint8(image: np.ndarray, low: float, high: float) -> np.ndarray:
    return (np.clip((image.astype(np.float64) - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)


def kernel_tile(kernel: np.ndarray, size: int) -> np.ndarray:
    k = kernel / kernel.max() if kernel.max() > 0 else kernel
    zoom = max(1, size // kernel.shape[0])
    return to_uint8(np.kron(k, np.ones((zoom, zoom))), 0, 1)


def comparison(
    lr: np.ndarray,
    sr: np.ndarray,
    hr: np.ndarray | None = None,
    kernels: dict[str, np.ndarray] | None = None,
    crop: int | None = None,
) -> Image.Image:
    """Panels LR (nearest x2) | bicubic x2 | DualSR x2 [| HR] [| kernels], labelled."""
    lr = lr.astype(np.float64)
    low, high = np.percentile(lr, (0.5, 99.5))
    panels = {
        "LR (nearest)": np.repeat(np.repeat(lr, 2, axis=0), 2, axis=1),
        "bicubic x2": bicubic_resize_np(lr, 2.0),
        "DualSR x2": sr.astype(np.float64),
    }
    if hr is not None:
        panels["HR"] = hr.astype(np.float64)
    h, w = sr.shape[:2]
    if crop:
        top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        panels = {k: v[top : top + crop, left : left + crop] for k, v in panels.items()}
    tiles = {k: to_uint8(v, low, high) for k, v in panels.items()}
    ph, pw = next(iter(tiles.values())).shape[:2]
    for name, k in (kernels or {}).items():
        tiles[name] = kernel_tile(k, min(ph, pw))
    label_h, gap = 18, 6
    width = sum(t.shape[1] for t in tiles.values()) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (width, ph + label_h), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for name, t in tiles.items():
        canvas.paste(Image.fromarray(t).convert("RGB"), (x, label_h))
        draw.text((x + 4, 3), name, fill="black")
        x += t.shape[1] + gap
    return canvas
