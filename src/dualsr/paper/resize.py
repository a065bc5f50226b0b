"""Resampling as the paper uses it: MATLAB-style bicubic and G_UP's bilinear x2.

Alignment convention (MATLAB ``imresize``, pixel centres): output pixel ``i`` of a
resize by ``s`` sits at input coordinate ``(i + 0.5) / s - 0.5``. For x2 that puts
LR pixel ``i`` at HR position ``2i + 0.5``, the convention the whole package uses.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

CUBIC_A = -0.5  # MATLAB's cubic (Keys, a = -0.5); torch's bicubic uses -0.75


def cubic(x: np.ndarray, a: float = CUBIC_A) -> np.ndarray:
    """Keys' cubic convolution kernel."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = (a + 2) * ax3 - (a + 3) * ax2 + 1
    far = a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a
    return np.where(ax <= 1, near, np.where(ax < 2, far, 0.0))


@lru_cache(maxsize=64)
def resize_matrix(in_len: int, scale: float) -> np.ndarray:
    """(out_len, in_len) matrix of MATLAB ``imresize(..., 'bicubic')`` along one axis.

    Antialiased (kernel widened by 1/scale) when shrinking, and symmetric (mirror with
    edge repeat) at the borders, as MATLAB does.
    """
    out_len = int(np.ceil(in_len * scale))
    widen = 1.0 / scale if scale < 1 else 1.0
    width = 4.0 * widen
    centres = (np.arange(out_len) + 0.5) / scale - 0.5
    left = np.floor(centres - width / 2).astype(int)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    weights = cubic((centres[:, None] - idx) / widen) / widen
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx, 2 * in_len)]
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), idx.ravel()), weights.ravel())
    matrix.flags.writeable = False
    return matrix


def bicubic_resize(images: torch.Tensor, scale: float) -> torch.Tensor:
    """MATLAB-style bicubic resize of ``(B, C, H, W)`` images by ``scale``."""
    if images.ndim != 4:
        raise ValueError(f"expected (B, C, H, W), got shape {tuple(images.shape)}")
    h, w = images.shape[-2:]
    mh = _matrix_tensor(h, scale, images.dtype, images.device)
    mw = _matrix_tensor(w, scale, images.dtype, images.device)
    return mh @ images @ mw.T


@lru_cache(maxsize=64)
def _matrix_tensor(n: int, scale: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(resize_matrix(n, scale), dtype=dtype, device=device)


def bicubic_resize_np(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB-style bicubic resize of a ``(H, W)`` or ``(H, W, C)`` float array."""
    mh = resize_matrix(image.shape[0], scale)
    mw = resize_matrix(image.shape[1], scale)
    out = np.tensordot(mh, image, axes=(1, 0))
    out = np.tensordot(mw, out, axes=(1, 1)).swapaxes(0, 1)
    return out


def bicubic_down_kernel(scale: float = 0.5) -> np.ndarray:
    """The 2D antialiased bicubic kernel of a x0.5 resize (8x8, KernelGAN's prior)."""
    factor = round(1 / scale)
    taps = np.arange(4 * factor) - (4 * factor - 1) / 2  # ..., -0.5, 0.5, ...
    k1 = cubic(taps * scale) * scale
    k1 /= k1.sum()
    return np.outer(k1, k1)


# The four phases of half-pixel-aligned bilinear x2: each HR pixel is 9/16 of its LR
# parent, 3/16 of each edge neighbour and 1/16 of the diagonal one.
_BILINEAR_PHASES = torch.tensor(
    [
        [[9, 3], [3, 1]],
        [[3, 9], [1, 3]],
        [[3, 1], [9, 3]],
        [[1, 3], [3, 9]],
    ],
    dtype=torch.float32,
).div_(16)[:, None]


def bilinear_up2(images: torch.Tensor) -> torch.Tensor:
    """Half-pixel-aligned bilinear x2 of ``(B, C, H, W)``, edges replicated.

    G_UP's fixed first stage; expressed as one 2x2 convolution and a pixel shuffle
    so it exports to ONNX as plain operators.
    """
    b, c, h, w = images.shape
    x = F.pad(images.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode="replicate")
    x = F.conv2d(x, _BILINEAR_PHASES.to(device=x.device, dtype=x.dtype))
    x = F.pixel_shuffle(x, 2)[..., 1:-1, 1:-1]
    return x.reshape(b, c, 2 * h, 2 * w)


def _bicubic_taps() -> torch.Tensor:
    """The x2 phases of MATLAB's bicubic along one axis, over LR offsets -2..2: HR pixel ``2i`` sits at
    LR ``i - 0.25``, ``2i + 1`` at ``i + 0.25``."""
    offsets = np.arange(-2, 3)
    return torch.tensor(np.stack([cubic(offsets + 0.25), cubic(offsets - 0.25)]), dtype=torch.float64)


_BICUBIC_TAPS = _bicubic_taps()


def bicubic_up2(images: torch.Tensor) -> torch.Tensor:
    """MATLAB-style bicubic x2 of ``(B, C, H, W)``, equal to ``bicubic_resize(images, 2)`` (edges mirrored
    with the edge repeated, as MATLAB does), as convolutions and a pixel shuffle: it exports to ONNX with
    any image size, where the resize matrices are fixed to one."""
    b, c, h, w = images.shape
    x = images.reshape(b * c, 1, h, w)
    x = torch.cat([x[..., :2, :].flip(-2), x, x[..., -2:, :].flip(-2)], dim=-2)
    x = torch.cat([x[..., :2].flip(-1), x, x[..., -2:].flip(-1)], dim=-1)
    taps = _BICUBIC_TAPS.to(device=x.device, dtype=x.dtype)
    phases = (taps[:, None, :, None] * taps[None, :, None, :]).reshape(4, 1, 5, 5)  # (row, col) phase pairs
    x = F.pixel_shuffle(F.conv2d(x, phases), 2)
    return x.reshape(b, c, 2 * h, 2 * w)
