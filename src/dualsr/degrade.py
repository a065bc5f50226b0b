"""Making LR images from HR ones with a known kernel (for benchmarks and samples).

``LR = correlate(HR, k)[::2, ::2]`` with the HR image mirror-padded by ``n // 2`` so
that, for an aligned kernel (centre of mass at ``n // 2 + 0.5``), LR pixel ``i`` sits at
HR position ``2i + 0.5`` -- the convention of bicubic resizing and of DualSR.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .networks import downsample_with_kernel


def degrade(hr: np.ndarray, kernel: np.ndarray, scale: int = 2) -> np.ndarray:
    """Blur ``(H, W)`` or ``(H, W, C)`` float ``hr`` with ``kernel`` and subsample by ``scale``."""
    data = np.asarray(hr, dtype=np.float64)
    chw = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    pad = kernel.shape[0] // 2
    t = torch.from_numpy(np.ascontiguousarray(chw))[None]
    t = F.pad(t, (pad, pad, pad, pad), mode="reflect")
    lr = downsample_with_kernel(t, torch.from_numpy(np.asarray(kernel, dtype=np.float64)), stride=scale)[0].numpy()
    h, w = data.shape[0] // scale, data.shape[1] // scale
    lr = lr[:, :h, :w]
    return lr[0] if data.ndim == 2 else np.moveaxis(lr, 0, -1)
