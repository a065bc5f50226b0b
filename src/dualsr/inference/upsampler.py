"""Upsamplers over whole arrays: the trained model's channel groups put back together, and the baselines.

:class:`GroupedUpsampler` is the module a training produces and the ONNX file holds: one G_UP per
channel group, the 180-degree self-ensemble and the back-projection where they apply.
:func:`upsample` runs any torch upsampler over real arrays (dtypes, axes, stacks) in exact tiles;
:func:`bicubic_x2` is the baseline every result is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from dualsr.inference.backprojection import BackProjection
from dualsr.inference.crossscale import CrossScaleCheck
from dualsr.inference.tiling import cpu_fallback, model_margin, upsample_planes
from dualsr.io.axes import Layout
from dualsr.io.normalize import Normalization, fit_normalization
from dualsr.io.validate import check_image
from dualsr.noise.model import GuidedUp
from dualsr.paper.networks import GeneratorUp
from dualsr.paper.resize import bicubic_resize, bilinear_up2


class Bilinear(nn.Module):
    """G_UP's interpolation alone: a channel group that has not been trained yet."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bilinear_up2(x)


class Bicubic(nn.Module):
    """MATLAB-style bicubic x2: the reference a DualSR result is compared with. The resize matrices, not
    :func:`dualsr.paper.resize.bicubic_up2`: in float32 they give a flipped plane's x2 bit for bit flipped
    (tests/test_preview.py), any side, one pixel included."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bicubic_resize(x, 2)


class GroupedUpsampler(nn.Module):
    """One G_UP per channel group, put back in channel order; RGBA alpha by bilinear (clamped to [0, 1]).

    ``(B, C, H, W)`` -> ``(B, C, 2H, 2W)``; the module that gets exported to ONNX.
    ``ensemble`` averages the x2 of the input with the x2 of the input rotated by 180
    degrees, rotated back (``config.self_ensemble``). ``projections`` (per group, or None)
    then back-project each group's x2 onto its LR (``config.back_projection``); ``check`` last keeps
    the detail that holds up one scale down (``config.cross_scale_check``,
    :mod:`dualsr.inference.crossscale`).
    """

    def __init__(
        self,
        models: list[GeneratorUp],
        groups: list[list[int]],
        alpha: int | None = None,
        ensemble: bool = False,
        projections: list[BackProjection | None] | None = None,
        check: CrossScaleCheck | None = None,
    ) -> None:
        super().__init__()
        self.models = nn.ModuleList(models)
        self.groups = [list(g) for g in groups]
        self.alpha = alpha
        self.ensemble = ensemble
        chosen = projections or [None] * len(models)
        self.projections = nn.ModuleList([nn.Identity() if p is None else p for p in chosen])
        order = [c for g in groups for c in g] + ([alpha] if alpha is not None else [])
        self.inverse = [order.index(c) for c in range(len(order))]
        self.check = check

    @property
    def margin(self) -> int:
        """LR pixels of context tiles need: G_UP's reach, then the back-projection's (tiling.model_margin)."""
        projections = [p.margin for p in self.projections if isinstance(p, BackProjection)]
        own = max(model_margin(m) for m in self.models) + max(projections, default=0)
        return own if self.check is None else self.check.context(own)

    @property
    def back_projection(self) -> int:
        """Back-projection steps applied (0: none)."""
        return max((p.steps for p in self.projections if isinstance(p, BackProjection)), default=0)

    @property
    def back_projection_step(self) -> float:
        """The size of each back-projection step (1: the whole residual; 0: none applied)."""
        return max((p.step for p in self.projections if isinstance(p, BackProjection)), default=0.0)

    @property
    def cross_scale_window(self) -> float:
        """The cross-scale check's window (LR pixels; 0: no check)."""
        return 0.0 if self.check is None else self.check.window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pipeline(x)
        return out if self.check is None else self.check(x, out, self.pipeline)

    def pipeline(self, x: torch.Tensor) -> torch.Tensor:
        """The x2 before the cross-scale check: G_UP, the self-ensemble, the back-projection."""
        guides = [m.guide(x[:, g]) if isinstance(m, GuidedUp) else None for m, g in zip(self.models, self.groups)]
        if not self.ensemble:
            return self._project(x, guides, self._upsample(x, guides))
        # a guided G_UP's denoiser is run once: the half turn of its output serves the turned pass
        turned_guides = [None if g is None else torch.flip(g, (-2, -1)) for g in guides]
        turned = torch.flip(self._upsample(torch.flip(x, (-2, -1)), turned_guides), (-2, -1))
        return self._project(x, guides, 0.5 * (self._upsample(x, guides) + turned))

    def _project(self, x: torch.Tensor, guides: list[torch.Tensor | None], out: torch.Tensor) -> torch.Tensor:
        """Each group's x2 back-projected onto its LR: the input, or its denoised copy (a guided G_UP's)."""
        if not self.back_projection:
            return out
        channels = list(out.unbind(1))
        for p, g, d in zip(self.projections, self.groups, guides):
            if isinstance(p, BackProjection):
                done = p(torch.stack([channels[c] for c in g], 1), x[:, g] if d is None else d)
                for i, c in enumerate(g):
                    channels[c] = done[:, i]
        return torch.stack(channels, 1)

    def _upsample(self, x: torch.Tensor, guides: list[torch.Tensor | None]) -> torch.Tensor:
        outs = [m(x[:, g]) if d is None else m(x[:, g], d) for m, g, d in zip(self.models, self.groups, guides)]
        if self.alpha is not None:
            alpha = x[:, self.alpha : self.alpha + 1]
            outs.append(bilinear_alpha(alpha))
        out = torch.cat(outs, dim=1)
        if self.inverse != list(range(len(self.inverse))):
            out = out[:, self.inverse]
        return out


def bilinear_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha (coverage) is upsampled by interpolation, never by a learned model."""
    return bilinear_up2(alpha).clamp(0.0, 1.0)


def bicubic_x2(image: Any, axes: str | None = None, tile: int | None = 512) -> np.ndarray:
    """MATLAB-style bicubic x2 of every plane, in the input's axes and dtype: the baseline."""
    data = check_image(image)
    identity = Normalization((0.0,), (1.0,), data.dtype.str, "identity")
    return upsample(Bicubic(), data, axes=axes, norm=identity, tile=tile)


def upsample(
    model: nn.Module,
    image: Any,
    *,
    axes: str | None = None,
    norm: Normalization | None = None,
    mode: str = "auto",
    device: str = "cpu",
    tile: int | None = 512,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """x2 every plane of ``image`` with a torch upsampler; same axes and dtype back."""
    data = check_image(image)
    layout = Layout.of(data.shape, axes)
    per_channel = isinstance(model, GroupedUpsampler) and len(model.groups) > 1
    c_axis = layout.axes.index("C") if per_channel else None
    norm = norm or fit_normalization(data, mode, channel_axis=c_axis)
    planes = layout.canonical(data)

    def attempt(where: str) -> np.ndarray:
        torch_device = torch.device(where)
        net = model.to(torch_device).eval()

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(batch).to(torch_device)).float().cpu().numpy()

        return upsample_planes(
            run, planes, norm, 1 if per_channel else None, tile=tile, progress=progress, margin=model_margin(model)
        )

    return layout.restore(cpu_fallback(attempt, str(device)))


__all__ = ["Bicubic", "Bilinear", "GroupedUpsampler", "bicubic_x2", "bilinear_alpha", "upsample"]
