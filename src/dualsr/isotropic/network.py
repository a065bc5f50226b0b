"""The through-plane upsampler: cubic interpolation along one axis by any factor, then a residual CNN.

G_UP of the paper upsamples both axes by 2 with a fixed interpolation and learns the
residual (:class:`dualsr.paper.networks.GeneratorUp`). Here only the rows (Z in an XZ or
YZ slice) are upsampled, by ``f`` which need not be an integer: the interpolation is
torch's bicubic with scale ``(f, 1)`` and half-pixel centres, which puts input row ``i`` at
output row ``i*f + (f-1)/2`` (the slice-centre rule of :mod:`dualsr.isotropic.degrade`)
and leaves the columns untouched. It exports to one ONNX ``Resize``, so the whole model
runs with onnxruntime at any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dualsr.paper.networks import relu_cnn


def cubic_rows(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``(N, C, H, W) -> (N, C, floor(H*f), W)``: cubic along H (a = -0.75), edges repeated."""
    return F.interpolate(
        x, scale_factor=(float(factor), 1.0), mode="bicubic", align_corners=False, recompute_scale_factor=False
    )


class AxisUpsampler(nn.Module):
    """Rows x ``factor``: ``cubic(x) + body(cubic(x))``, the body a plain CNN (3x3, ReLU between)."""

    def __init__(self, factor: float, layers: int = 6, features: int = 32) -> None:
        super().__init__()
        self.factor = float(factor)
        self.layers = layers
        self.features = features
        self.body = relu_cnn([1] + [features] * (layers - 1) + [1])  # G_UP's body, one channel
        last = self.body[-1]
        nn.init.normal_(last.weight, 0.0, 1e-3)  # start as plain cubic interpolation

    @property
    def margin(self) -> int:
        """Output pixels each side that depend on what lies beyond a tile (the body's reach)."""
        return self.layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = cubic_rows(x, self.factor)
        return up + self.body(up)

    def config(self) -> dict:
        return {"factor": self.factor, "layers": self.layers, "features": self.features}
