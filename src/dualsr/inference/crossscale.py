"""Keep the detail that holds up one scale down, where the truth is known.

The x2 of an image cannot be checked against a truth, but the same upsampler applied to the
image degraded once more (``(LR * k)↓2``) can: its answer should give back the LR. Where the
detail the upsampler adds over bicubic makes that answer worse, it is not what the image's
own cross-scale statistics support (the premise of the whole method), and the x2 should not
trust it either. Per LR pixel, the share ``w`` of the added detail that best explains the LR one
scale down -- least squares over a Gaussian window of ``window`` LR pixels, held to [0, 1] -- then
scales the x2's detail: ``x2 = bicubic + w (G_UP's x2 - bicubic)``. It never adds sharpening; it
takes back what the check does not confirm, towards bicubic, the safe answer.

An integer LR's rounding bounds what it can confirm at all: detail smaller than the rounding's
standard deviation is dropped (``lsbs``, under the camera model of a noise-free integer image, where
the back-projection leaves the rounding alone too).

Measured (docs/benchmarks.md, "Keeping what holds up one scale down" and "Detail within the
rounding"): on the camera-binned photos +0.47 -> +0.48 dB, every image within +-0.03 dB (its gains are
mostly real detail), and the rounding rule takes the smoothest (cell) from -0.27 to +0.08 dB on a
machine where its run fell below bicubic; the DIV2KRK-style set within 0.003 dB. A run whose
check keeps less than ``KEPT_UNCERTAIN`` of the detail on average says so: its x2 is close to
bicubic because the image's own scales disagreed with the network (a short or failed training).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dualsr.inference.backprojection import BackProjection
from dualsr.paper.resize import bicubic_up2, bilinear_up2

# Detail smaller than the standard deviation of an integer LR's rounding (in LSBs) is not kept: neither the
# LR nor the scale below can tell it from the rounding. Measured on the camera-binned photos
# (docs/benchmarks.md, "Detail within the rounding"): cell -0.27 -> +0.08 dB, retina +0.17 -> +0.13,
# the photos with detail within 0.01 dB; twice as much (the back-projection's tolerance) left cell +0.05,
# retina +0.05; a soft threshold cost chelsea 0.02-0.05 dB.
ROUNDING_STD = 1.0 / 12**0.5
KEPT_UNCERTAIN = 0.75  # a run keeping less of its detail on average is "uncertain" (docs/benchmarks.md)
EPSILON = 1e-10  # squared detail below which a window has none to weigh (normalised units)


class CrossScaleCheck(nn.Module):
    """Weights of the x2's detail from the upsampler's answer one scale down.

    ``kernels`` and ``groups``: each channel group's x2 kernel (the LR is degraded once more by
    it); ``skip``: channels left as the upsampler made them (RGBA's alpha).
    """

    def __init__(
        self,
        kernels: list[np.ndarray],
        groups: list[list[int]],
        window: float,
        skip: int | None = None,
        lsbs: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.degrades = nn.ModuleList(
            [BackProjection(torch.as_tensor(np.asarray(k, np.float64)), steps=0) for k in kernels]
        )
        self.groups = [list(g) for g in groups]
        self.window, self.skip = float(window), skip
        self.radius = int(np.ceil(3 * window))
        channels = max([c for g in groups for c in g] + [-1 if skip is None else skip]) + 1
        tolerance = torch.zeros(channels)
        for g, lsb in zip(self.groups, lsbs or []):
            tolerance[g] = ROUNDING_STD * lsb
        self.register_buffer("tolerance", tolerance.view(1, -1, 1, 1))
        self.thresholded = bool(tolerance.any())

    def context(self, pipeline_margin: int) -> int:
        """LR pixels of context a tile needs: the pipeline's at half the resolution (twice as many LR
        pixels), the kernel's reach, bicubic's and the window's; even, so tiles keep the LR's parity."""
        reach = max(d.kernel.shape[-1] for d in self.degrades) // 2 + 1
        total = 2 * pipeline_margin + reach + 2 + self.radius + 1
        return total + total % 2

    def weights(self, x: torch.Tensor, pipeline: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``(B, C, H, W)`` share of the detail kept per LR pixel, in [0, 1]."""
        h, w = x.shape[-2:]
        lower = self._down(even(x))
        interpolated = bicubic_up2(lower)
        detail = (pipeline(lower) - interpolated)[..., :h, :w]
        missing = x - interpolated[..., :h, :w]
        agreement = gaussian_smooth(detail * missing, self.window, self.radius)
        kept = agreement / (gaussian_smooth(detail * detail, self.window, self.radius) + EPSILON)
        kept = kept.clamp(0.0, 1.0)
        if self.skip is not None:
            kept[:, self.skip] = 1.0
        return kept

    def forward(
        self, x: torch.Tensor, out: torch.Tensor, pipeline: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """``out`` (the pipeline's x2 of ``x``) with its detail over bicubic scaled by the weights; detail
        within the LR's rounding (``tolerance``, integer LRs under the camera model) dropped."""
        base = bicubic_up2(x)
        detail = bilinear_up2(self.weights(x, pipeline)) * (out - base)
        if self.thresholded:
            detail = detail * (detail.abs() > self.tolerance)
        return base + detail

    def _down(self, x: torch.Tensor) -> torch.Tensor:
        channels = list(x.unbind(1))
        for degrade, group in zip(self.degrades, self.groups):
            lower = degrade.down(torch.stack([channels[c] for c in group], 1))
            for i, c in enumerate(group):
                channels[c] = lower[:, i]
        if self.skip is not None:
            channels[self.skip] = F.avg_pool2d(x[:, self.skip : self.skip + 1], 2)[:, 0]
        return torch.stack(channels, 1)


def even(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` padded by its last row / column where H / W is odd: a x2 grid one scale down."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")


def gaussian_smooth(x: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """``(B, C, H, W)`` smoothed by a separable Gaussian of ``sigma`` pixels cut at ``radius``, edges
    replicated (the borders keep their own values)."""
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    taps = (taps / taps.sum()).to(x.device, x.dtype)
    n, c, h, w = x.shape
    flat = F.pad(x.reshape(n * c, 1, h, w), (radius, radius, radius, radius), mode="replicate")
    flat = F.conv2d(flat, taps.view(1, 1, 1, -1))
    flat = F.conv2d(flat, taps.view(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


__all__ = ["EPSILON", "KEPT_UNCERTAIN", "CrossScaleCheck", "even", "gaussian_smooth"]
