"""Iterative back-projection (Irani & Peleg 1991; ZSSR's last step): make the x2 agree with the LR.

After its short training G_UP's x2, downscaled with the kernel, does not give the LR back: on
the noise-free benchmark images the residual still holds 0.3-1 dB of PSNR. Each step adds the
residual ``LR - (x * k)↓2``, upsampled bilinearly, to ``x``. Done to the end this makes
the x2 consistent with the LR but rings at edges (deconvolution), so every pixel is then held
to the range of the LR around it (3x3 LR pixels, widened to the value G_UP gave it): the
consistency without the halos. Measured in docs/blind_kernel.md ("Back-projection").

On a noisy image the LR is mostly noise at the frequencies that matter, so the x2 is projected
onto the denoised copy a guided G_UP reads (``config.noise_guide``), which is itself an
estimate: its steps shrink with the noise variance (:func:`noisy_step`), full up to a noise
level of 1 % of full scale, a quarter at 2 % (the bundled sample), ~1/16 at 4 % (300 photons).

Not in the paper (``config.back_projection = 0`` there). Plain convolutions and pooling: it
exports to ONNX inside the model.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dualsr.paper.networks import downsample_with_kernel
from dualsr.paper.resize import bilinear_up2

RANGE_RADIUS = 1  # LR pixels around each x2 pixel whose range bounds it (3x3)
TAIL = 1e-3  # outer rings of the kernel holding less than this share of it are cut (its reach sets the tiles' margin)
QUANTISATION_TOLERANCE = 2.0 / 12**0.5  # LSBs of residual left alone: twice the rounding's standard deviation
MIN_STEP = 0.02  # smaller steps move the x2 by less than 0.01 dB (30 photons): not worth their margin


def noisy_step(level: float, full_below: float) -> float:
    """Step factor on an LR with noise ``level`` (std at mid-scale / full scale): ``(full_below / level)^2``, at most 1.

    A step corrects the x2 by the residual against an LR estimate; weighting it by the inverse of
    that estimate's noise variance (as a Wiener or Landweber step would) keeps the noise out.
    """
    return 1.0 if level <= full_below else (full_below / level) ** 2


class BackProjection(nn.Module):
    """``steps`` back-projection steps of ``(B, C, 2H, 2W)`` onto ``(B, C, H, W)``, with one kernel.

    ``kernel`` is the aligned x2 kernel ``(n, n)`` (centre of mass at ``n // 2 + 0.5``) that
    made the LR, applied to every channel.
    """

    def __init__(self, kernel: torch.Tensor, steps: int, step: float = 1.0, tolerance: float = 0.0) -> None:
        super().__init__()
        kernel = trimmed(kernel.detach().double())
        self.register_buffer("kernel", kernel.float())
        self.steps, self.step, self.tolerance = int(steps), float(step), float(tolerance)
        # LR pixels an output pixel depends on: per step the kernel's reach (n // 2 HR px, halved,
        # rounded up) and the bilinear x2 (1 px); the range bound adds RANGE_RADIUS (tiling)
        self.margin = self.steps * ((kernel.shape[-1] // 2 + 1) // 2 + 1) + RANGE_RADIUS

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """``(x * k)↓2`` of every channel, the image's edges mirrored (same size as the LR)."""
        n = self.kernel.shape[-1]
        lead, trail = n // 2, n - 1 - n // 2  # the kernel's centre (n // 2 + 0.5) lands on each LR pixel's
        return downsample_with_kernel(F.pad(x, (lead, trail, lead, trail), mode="reflect"), self.kernel)

    def forward(self, x: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        start = x
        for _ in range(self.steps):
            residual = lr - self.down(x)
            if self.tolerance:  # what the LR's rounding explains is not projected (it would be noise)
                residual = torch.sign(residual) * torch.relu(residual.abs() - self.tolerance)
            x = x + self.step * bilinear_up2(residual)
        hi, lo = _local_range(lr)
        return torch.minimum(torch.maximum(x, torch.minimum(lo, start)), torch.maximum(hi, start))


def trimmed(kernel: torch.Tensor, tail: float = TAIL) -> torch.Tensor:
    """``kernel`` without its outer rings while each holds less than ``tail`` of its sum, renormalised.

    A ring comes off both sides at once, so an aligned kernel (centre at ``n // 2 + 0.5``) stays aligned.
    """
    total = float(kernel.sum())
    while kernel.shape[-1] > 3:
        ring = float(kernel.abs().sum() - kernel[1:-1, 1:-1].abs().sum())
        if ring >= tail * abs(total):
            break
        kernel = kernel[1:-1, 1:-1]
    return kernel / kernel.sum()


def _local_range(lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max and min of the LR over its 3x3 neighbourhoods, each LR pixel's repeated on its 2x2 x2 pixels."""
    r = RANGE_RADIUS
    padded = F.pad(lr, (r, r, r, r), mode="replicate")
    hi = F.max_pool2d(padded, 2 * r + 1, 1)
    lo = -F.max_pool2d(-padded, 2 * r + 1, 1)
    return F.interpolate(hi, scale_factor=2, mode="nearest"), F.interpolate(lo, scale_factor=2, mode="nearest")


def lsb(dtype: np.dtype, data_range: float) -> float:
    """One step of an integer LR in normalised units (``data_range`` raw units = 1); 0 for float data.
    ``QUANTISATION_TOLERANCE`` of them is the residual its rounding explains: projecting it would add the
    rounding noise to the x2 (measured in docs/blind_kernel.md)."""
    if not np.issubdtype(np.dtype(dtype), np.integer) or data_range <= 0:
        return 0.0
    return 1.0 / data_range


__all__ = ["MIN_STEP", "QUANTISATION_TOLERANCE", "lsb", "BackProjection", "noisy_step", "trimmed"]
