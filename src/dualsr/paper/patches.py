"""Where training patches come from (paper sec. 4; KernelGAN's sampler).

Both patch kinds are cut from the one input image (or from the chosen planes of a stack). Crop centres are drawn with a
probability that follows the image's (blurred, clipped) gradient magnitude, so that
training sees edges more than flat background. All crop positions for a run are drawn
up front from a seeded generator; cutting them is plain tensor slicing on the device.

The maps cost ~15 float32 planes; above ``MAP_PIXELS`` they are built on a block-averaged
copy of the image (a grid ``factor`` times coarser, still finer than the crops), and a
crop centre drawn on that grid lands uniformly inside its cell. Smaller images are
sampled at full resolution, as the reference does.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from dualsr.paper.resize import bicubic_resize_np

MAP_PIXELS = 2048 * 2048  # largest sampling map (~15 float32 planes of it); bigger images: coarser grid


def box_filter(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over a ``size x size`` window, zero outside ('same' as scipy's convolve2d)."""
    out = np.asarray(image, dtype=np.float64)
    for axis in (0, 1):
        before, after = size // 2, (size - 1) // 2
        pad = [(0, 0), (0, 0)]
        pad[axis] = (before + 1, after)
        c = np.cumsum(np.pad(out, pad), axis=axis)
        n = out.shape[axis]
        hi = [slice(None)] * 2
        lo = [slice(None)] * 2
        hi[axis], lo[axis] = slice(size, size + n), slice(0, n)
        out = c[tuple(hi)] - c[tuple(lo)]  # views of the cumulative sums: no extra plane-size copies
        del c
    out /= size**2
    return out


def zero_border(image: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros_like(image)
    if 2 * width < min(image.shape):
        out[width:-width, width:-width] = image[width:-width, width:-width]
    return out


def clip_extreme(values: np.ndarray, quantile: float) -> np.ndarray:
    """Zero values below the quantile and clip above the next one (KernelGAN)."""
    flat = values.ravel()
    pivot = int(quantile * flat.size)
    part = np.partition(flat, [pivot, min(pivot + 1, flat.size - 1)])
    v_min, v_next = part[pivot], part[min(pivot + 1, flat.size - 1)]
    del part
    v_max = v_next if v_next > v_min else v_min + 1e-5
    out = np.clip(values, v_min, v_max)
    out -= v_min
    return out


def _magnitudes(gray: np.ndarray) -> Iterator[np.ndarray]:
    """|d/dy|, |d/dx| and the gradient magnitude, made one at a time."""
    gy, gx = np.gradient(gray.astype(np.float64))
    yield np.abs(gy)
    yield np.abs(gx)
    yield np.hypot(gy, gx)


def gradient_map(gray: np.ndarray, window: int = 5, quantile: float = 0.97) -> np.ndarray:
    """Where the image has edges: normalised, clipped, blurred gradient magnitudes."""
    combined = np.zeros_like(gray, dtype=np.float64)
    # one part at a time, divided in place: on a 20k^2 plane every float64 copy is 3 GB
    for magnitude in _magnitudes(gray):
        clipped = clip_extreme(zero_border(magnitude, window), quantile)
        total = clipped.sum()
        if total > 0:
            clipped /= total
            combined += clipped
        del clipped
    blurred = box_filter(combined, window)
    mean = blurred.mean()
    return blurred / mean if mean > 0 else np.ones_like(blurred)


def crop_probabilities(grad_map: np.ndarray, crop: int) -> np.ndarray:
    """Probability of each pixel being a crop centre, favouring edge-rich crops."""
    prob = zero_border(box_filter(grad_map, crop // 2), crop // 2).ravel()
    total = prob.sum()
    if total > 0:
        prob /= total
        return prob
    return np.full(prob.size, 1.0 / prob.size)


def crop_corners(
    prob: np.ndarray,
    shape: tuple[int, int],
    crop: int,
    count: int,
    rng: np.random.Generator,
    factor: int = 1,
) -> np.ndarray:
    """``(count, 2)`` even top-left corners of crops whose centres follow ``prob``.

    ``prob`` covers ``shape`` on a grid ``factor`` times coarser (``shape // factor``).
    """
    cdf = np.cumsum(prob)
    centres = np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right")
    centres = np.minimum(centres, prob.size - 1)
    rows, cols = np.divmod(centres, shape[1] // factor)
    if factor > 1:
        rows = rows * factor + rng.integers(0, factor, count)
        cols = cols * factor + rng.integers(0, factor, count)
    top = np.clip(rows - crop // 2, 0, shape[0] - crop)
    left = np.clip(cols - crop // 2, 0, shape[1] - crop)
    return np.stack([top - top % 2, left - left % 2], axis=1)


def to_gray(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W)``: luma for RGB, the mean otherwise."""
    if image.shape[0] == 3:
        return np.tensordot(np.array([0.299, 0.587, 0.114]), image, axes=(0, 0))
    return image.mean(axis=0)


def map_factor(shape: tuple[int, int], max_pixels: int = MAP_PIXELS) -> int:
    """1 up to ``max_pixels``, else the smallest even block size that fits under it."""
    h, w = shape
    if h * w <= max_pixels:
        return 1
    factor = int(np.ceil(np.sqrt(h * w / max_pixels)))
    return factor + factor % 2


def block_gray(image: np.ndarray, factor: int) -> np.ndarray:
    """Grey of ``(C, H, W)`` averaged over ``factor`` x ``factor`` blocks, one row of
    blocks at a time (no full-size temporary)."""
    _, h, w = image.shape
    hs, ws = h // factor, w // factor
    out = np.empty((hs, ws))
    for i in range(hs):
        strip = to_gray(image[:, i * factor : (i + 1) * factor, : ws * factor])
        out[i] = strip.reshape(factor, ws, factor).mean(axis=(0, 2))
    return out


def crop_planes(planes: int, count: int, seed: int) -> np.ndarray:
    """Which plane each of ``count`` crops is cut from: every plane equally often, in a
    seeded order. One plane: all zeros, drawing nothing (single-plane crops stay as they were)."""
    if planes == 1:
        return np.zeros(count, dtype=np.int64)
    return np.random.default_rng([seed, planes]).permutation(np.resize(np.arange(planes), count))


class PatchSampler:
    """Draws the y (HR-role) and x (LR-role) patches of every training step.

    ``image`` is the normalised ``(C, H, W)`` training plane, or ``(P, C, H, W)`` planes
    that share one kernel (a stack): each crop then comes from one plane, all planes
    equally often. y's probabilities come from the gradients of a plane downscaled x0.5
    (what G_DN's output will look like), x's from the plane itself, as in the reference
    implementation.
    """

    def __init__(
        self,
        image: np.ndarray,
        hr_crop: int,
        lr_crop: int,
        batch: int,
        steps: int,
        seed: int,
        border: int = 10,
        window: int = 5,
        quantile: float = 0.97,
        max_pixels: int | None = None,
    ) -> None:
        h, w = image.shape[-2:]
        if min(h, w) - 2 * border < hr_crop:
            raise ValueError(f"image {h}x{w} is too small for {hr_crop}px patches")
        h2, w2 = (h - 2 * border) // 2 * 2, (w - 2 * border) // 2 * 2
        self.image = image[..., border : border + h2, border : border + w2]  # a view: no copy
        self.full, self.border = image, border
        self.hr_crop, self.lr_crop, self.batch = hr_crop, lr_crop, batch
        planes = self.image if image.ndim == 4 else self.image[None]
        count = steps * batch
        self.planes = crop_planes(len(planes), count, seed)
        self.hr_corners = np.zeros((count, 2), dtype=np.int64)
        self.lr_corners = np.zeros((count, 2), dtype=np.int64)
        rng = np.random.default_rng(seed)
        f = map_factor((h2, w2), max_pixels or MAP_PIXELS)
        for p, plane in enumerate(planes):  # one plane's maps at a time
            mine = self.planes == p
            self.hr_corners[mine], self.lr_corners[mine] = self._draw(plane, int(mine.sum()), rng, f, window, quantile)
        self.tensor: torch.Tensor | None = None

    def _draw(
        self, plane: np.ndarray, count: int, rng: np.random.Generator, f: int, window: int, quantile: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` y and x crop corners on one ``(C, h, w)`` plane, y's first."""
        shape = plane.shape[1:]
        gray = to_gray(plane) if f == 1 else block_gray(plane, f)
        hr_c, lr_c = max(2, self.hr_crop // f), max(2, self.lr_crop // f)
        small_map = gradient_map(bicubic_resize_np(gray, 0.5), window, quantile)
        big_map = np.repeat(np.repeat(small_map, 2, axis=0), 2, axis=1)[: gray.shape[0], : gray.shape[1]]
        hr_prob = crop_probabilities(big_map, hr_c)
        del small_map, big_map
        hr = crop_corners(hr_prob, shape, self.hr_crop, count, rng, f)
        del hr_prob  # plane-size maps are freed as soon as their crops are drawn
        lr_prob = crop_probabilities(gradient_map(gray, window, quantile), lr_c)
        return hr, crop_corners(lr_prob, shape, self.lr_crop, count, rng, f)

    def to(self, device: torch.device) -> PatchSampler:
        # the whole plane(s), so that a contiguous float32 array on the CPU is shared, not copied
        tensor = torch.as_tensor(np.ascontiguousarray(self.full), dtype=torch.float32, device=device)
        self.tensor = tensor if tensor.ndim == 4 else tensor[None]
        return self

    def _cut(self, corners: np.ndarray, step: int, size: int) -> torch.Tensor:
        assert self.tensor is not None, "call .to(device) first"
        rows = slice(step * self.batch, (step + 1) * self.batch)
        crops = zip(self.planes[rows], corners[rows] + self.border)
        return torch.stack([self.tensor[p, :, t : t + size, l : l + size] for p, (t, l) in crops])

    def patches(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y, x)`` of one step: ``(B, C, hr, hr)`` and ``(B, C, lr, lr)``."""
        return self._cut(self.hr_corners, step, self.hr_crop), self._cut(self.lr_corners, step, self.lr_crop)
