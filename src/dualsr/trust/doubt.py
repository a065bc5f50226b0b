"""Where a x2 may not be what the data support: a per-pixel doubt map.

Two disagreements, each in the normalised intensity scale (a fraction of the image's range):

- between estimates: the trained upsampler on the image and on the image turned by 180 degrees
  (turned back) are two answers with different errors (the self-ensemble averages them); where
  they disagree, the detail is not determined by the data but by the network's bias;
- with the LR (NanoJ-SQUIRREL's resolution-scaled error): the x2 blurred by the kernel and
  subsampled must give the LR back; where it does not, the x2 holds something the LR contradicts.

- one scale down, where the LR is the truth: the same upsampler applied to the LR degraded once
  more by the kernel must give the LR back; where it does not, the method fails on this content at
  the scale below, and (the image's scales being alike, the premise of DualSR) likely at x2 too.
- between kernel hypotheses, only where the kernel is in doubt (a blur kernel that did not settle,
  or blur asked for an image that reads as a camera's): the x2's departure from bicubic, the answer
  of the narrowest kernel, is detail that exists only if the estimated blur is real. The three terms
  above cannot see a kernel that is too wide: the upsampler was trained for it, and it agrees with the
  LR and with itself one scale down (docs/trust.md, "An engine that over-sharpens").

Agreement with the LR alone cannot see detail in the kernel's null space (what the blur removes
entirely, and what back-projection forces into agreement), which is why the first and third terms
are there. Doubt = spread + residual + cross-scale error (+ the departure from bicubic where the
kernel is in doubt), per channel, at the data's resolution:
smoothed by a Gaussian of ``DOUBT_SCALE`` x2 pixels (as SQUIRREL's error map is resolution-scaled;
one pixel's own error is noise, its neighbourhood's is not: Spearman with the true error 0.36 ->
0.72 on the camera-binned moon, docs/trust.md). ``DOUBT_LEVEL`` of the range counts as "in doubt".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from dualsr.inference.backprojection import BackProjection
from dualsr.inference.crossscale import even, gaussian_smooth
from dualsr.inference.tiling import tiled_upsample
from dualsr.inference.upsampler import GroupedUpsampler
from dualsr.io.axes import Layout
from dualsr.io.normalize import Normalization
from dualsr.noise.model import GuidedUp
from dualsr.paper.resize import bicubic_up2, bilinear_up2

DOUBT_LEVEL = 0.02  # doubt above 2 % of the image's range: "in doubt"
DOUBT_SCALE = 1.0  # sigma of the Gaussian (x2 pixels) that puts the map at the data's resolution
SMOOTH_RADIUS = int(np.ceil(2 * DOUBT_SCALE))  # taps each side of that Gaussian


def resolution_scaled(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` smoothed by the ``DOUBT_SCALE`` Gaussian, edges replicated (the borders keep their
    own values): the doubt map, and the true error it is compared with (benchmarks/trust.py)."""
    return gaussian_smooth(x, DOUBT_SCALE, SMOOTH_RADIUS)


class Doubt(nn.Module):
    """``(B, C, H, W)`` normalised LR -> ``(B, C, 2H, 2W)`` doubt of ``upsampler``'s x2; ``kernel_in_doubt``
    adds the x2's departure from bicubic (the kernel-hypothesis term)."""

    def __init__(self, upsampler: GroupedUpsampler, kernel: np.ndarray, kernel_in_doubt: bool = False) -> None:
        super().__init__()
        self.upsampler = upsampler
        self.kernel_in_doubt = kernel_in_doubt
        self.members = GroupedUpsampler(list(upsampler.models), upsampler.groups, upsampler.alpha, ensemble=False)
        self.degrade = BackProjection(torch.as_tensor(np.asarray(kernel, dtype=np.float64)), steps=0)
        margin = 2 * upsampler.margin + self.degrade.margin + 2 + SMOOTH_RADIUS
        self.margin = margin + margin % 2  # even: tiles keep the LR's 2x2 grid (the scale below)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.members(x)
        b = torch.flip(self.members(torch.flip(x, (-2, -1))), (-2, -1))
        spread = 0.5 * (a - b).abs()
        reference = self._reference(x)
        x2 = self.upsampler(x)
        residual = (reference - self.degrade.down(x2)).abs()
        if self.kernel_in_doubt:  # bicubic of the LR the x2 must give back: noise is not doubt
            spread = spread + (x2 - bicubic_up2(reference)).abs()
        return resolution_scaled(spread + bilinear_up2(residual + self._one_scale_down(x, reference)))

    def _one_scale_down(self, x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """|x2 of the LR degraded once more - the LR|, on the LR grid."""
        h, w = x.shape[-2:]
        lower = self.degrade.down(even(x))
        return (self.upsampler(lower)[..., :h, :w] - reference).abs()

    def _reference(self, x: torch.Tensor) -> torch.Tensor:
        """The LR the x2 must give back: the image, or a guided G_UP's denoised copy (noise is not doubt)."""
        channels = list(x.unbind(1))
        for model, group in zip(self.upsampler.models, self.upsampler.groups):
            if isinstance(model, GuidedUp):
                for i, c in enumerate(group):
                    channels[c] = model.guide(x[:, group])[:, i]
        return torch.stack(channels, 1)


def doubt_map(
    upsampler: GroupedUpsampler,
    kernel: np.ndarray,
    image: np.ndarray,
    layout: Layout,
    norm: Normalization,
    channel_axis: int | None,
    device: str = "cpu",
    tile: int | None = 512,
    kernel_in_doubt: bool = False,
) -> np.ndarray:
    """The doubt of the x2 of every plane of ``image``: float32, a fraction of the image's range, the
    channels' largest, in the input's axes without C (one map however many channels); ``kernel_in_doubt``
    (the engine's kernel did not settle, or contradicts the image) adds the kernel-hypothesis term."""
    module = Doubt(upsampler, kernel if np.ndim(kernel) == 2 else kernel[0], kernel_in_doubt).to(device).eval()
    planes = layout.canonical(image)

    def run(batch: np.ndarray) -> np.ndarray:
        normalised = norm.apply(batch, channel_axis=channel_axis)
        with torch.inference_mode():
            return module(torch.from_numpy(normalised).to(device)).float().cpu().numpy()

    out = tiled_upsample(_each_plane(run), planes.astype(np.float32), tile=tile, margin=module.margin)
    worst = out.max(axis=1)
    restored = layout.restore(np.broadcast_to(worst[:, None], out.shape))  # a view: C is one value repeated
    if "C" in layout.axes:
        restored = np.take(restored, 0, axis=layout.axes.index("C"))
    return np.ascontiguousarray(restored, dtype=np.float32)


def _each_plane(run: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda batch: np.concatenate([run(batch[i : i + 1]) for i in range(batch.shape[0])])


def in_doubt(doubt: np.ndarray) -> float:
    """Share of the x2's pixels in doubt (above ``DOUBT_LEVEL`` of the range)."""
    return float(np.mean(np.asarray(doubt) > DOUBT_LEVEL))


def summary(doubt: np.ndarray) -> dict[str, Any]:
    return {"in_doubt": round(in_doubt(doubt), 4), "mean": round(float(np.mean(doubt)), 5), "level": DOUBT_LEVEL}


__all__ = [
    "DOUBT_LEVEL",
    "DOUBT_SCALE",
    "SMOOTH_RADIUS",
    "Doubt",
    "resolution_scaled",
    "doubt_map",
    "in_doubt",
    "summary",
]
