"""The x2 image as it is now, mid-training: what a viewer shows while the model learns.

``dualsr.train`` gives every progress report a ``preview(region=None, plane=None)``
that runs the live upsampler on one plane of the input, or on a YX region of it,
exactly as the final pass will (same normalisation, exact tiles, the input's dtype),
so a GUI can refresh its x2 layer every few seconds instead of waiting for the end.
Call it on the training thread (inside the progress callback): the model is trained
there, between the calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dualsr.errors import DualSRInputError
from dualsr.inference.tiling import model_margin, upsample_planes
from dualsr.io.axes import Layout
from dualsr.io.normalize import Normalization

Region = tuple[int, int, int, int]  # y0, y1, x0, x1: input pixels, stop excluded


def clip_region(region: Region | None, height: int, width: int) -> Region:
    """``region`` inside a ``height x width`` plane (the whole plane for ``None``)."""
    if region is None:
        return 0, height, 0, width
    y0, y1, x0, x1 = (int(v) for v in region)
    y0, x0 = min(max(y0, 0), height - 1), min(max(x0, 0), width - 1)
    return y0, min(max(y1, y0 + 1), height), x0, min(max(x1, x0 + 1), width)


@dataclass(frozen=True)
class Previewer:
    """Runs an upsampler on one raw plane (or a region of it) of the training input."""

    layout: Layout
    planes: np.ndarray  # (P, C, H, W) raw input planes: read, never written
    norm: Normalization
    channel_axis: int | None  # 1 when channels are normalised one by one
    device: torch.device
    default_plane: int  # the first training plane

    def __call__(self, net: nn.Module, region: Region | None = None, plane: int | tuple[int, ...] | None = None):
        """x2 of ``region`` of ``plane`` in the input's dtype and its own order of C, Y, X.

        ``region`` must lie inside the plane (see :func:`clip_region`); 8 pixels of context
        around it make the result equal to the same pixels of the whole-plane x2.
        """
        index = self.default_plane if plane is None else self.layout.plane_index(plane)
        h, w = self.layout.height, self.layout.width
        if region is not None and clip_region(region, h, w) != tuple(region):
            raise DualSRInputError(f"preview region {tuple(region)} is not inside the {h}x{w} plane")
        y0, y1, x0, x1 = clip_region(region, h, w)
        m = model_margin(net)
        py0, py1, px0, px1 = max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w)

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return net(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()

        raw = self.planes[index : index + 1, :, py0:py1, px0:px1]
        sr = upsample_planes(run, raw, self.norm, self.channel_axis, margin=m)[0]
        top, left = 2 * (y0 - py0), 2 * (x0 - px0)
        return self.layout.plane_array(sr[:, top : top + 2 * (y1 - y0), left : left + 2 * (x1 - x0)])
