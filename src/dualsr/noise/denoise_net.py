"""The shot-noise denoiser of :mod:`dualsr.noise.denoise` as a torch module, so it can live in ONNX.

A guided G_UP (``config.noise_guide``) reads the image and its denoised copy; its ONNX file
must therefore carry the denoiser. This is the same pipeline as ``denoise(method="nlm_wiener")``,
written with convolutions and element-wise ops only:

1. generalised Anscombe transform (GAT) of ``var = gain * I + offset`` noise to sigma 1;
2. non-local means with scikit-image's fast-mode settings (patch 5, search distance 6,
   ``h = 0.8 sigma``; :func:`nl_means`), unrolled over the 13 x 13 offsets;
3. two empirical Wiener passes in a sliding 8 x 8 DCT (:class:`dualsr.noise.wiener.WienerPass`, the
   same pass the numpy pipeline runs: separable DCT convolutions, the overlap-add as their transpose);
4. the exact unbiased inverse of the GAT (Mäkitalo & Foi), tabulated on a uniform grid.

It works on the engine's normalised scale (``model``: gain and offset variance there).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dualsr.noise.denoise import NLM_DISTANCE, NLM_H, NLM_PATCH, closed_form_inverse, expected_gat_table, gat_parameters
from dualsr.noise.wiener import OPPONENT, WIENER_PASSES, WienerPass, pad_edges

_TABLE = 2048  # points of the inverse's uniform grid


def nl_means(x: torch.Tensor, sigma: float, patch: int = NLM_PATCH, distance: int = NLM_DISTANCE) -> torch.Tensor:
    """Non-local means of ``(B, C, H, W)`` with Gaussian noise ``sigma``, as scikit-image's fast mode.

    Its arithmetic, step for step: the patch distance is the sum of ``diff² - 2 sigma²`` over
    the channels and over the ``(patch - 1)²`` window its integral image spans (rows and
    columns ``-r + 1 .. r`` around the pixel), clipped at 0 and divided by ``C h² patch²``;
    weights ``exp(-distance)``, dropped beyond 5 (away from the borders this equals
    scikit-image 0.26 to ~70 dB). One row of search offsets at a time: 13 rounds of a few
    large ops rather than 169 of small ones (memory 13x the image).
    """
    h2 = (NLM_H * sigma) ** 2
    r, n = patch // 2, 2 * distance + 1
    b, c, height, width = x.shape
    xp = pad_edges(x, distance + r)
    centre = xp[..., distance : distance + height + 2 * r, distance : distance + width + 2 * r]
    num, den = torch.zeros_like(x), torch.zeros_like(x[:, :1])
    scale = (2 * r) ** 2 / (patch**2 * h2)  # window mean -> scikit-image's distance
    for dy in range(n):
        rows = xp[..., dy : dy + height + 2 * r, :]
        shifted = torch.stack([rows[..., dx : dx + width + 2 * r] for dx in range(n)], 1)  # (B, n, C, h, w)
        d2 = (shifted - centre[:, None]).square().mean(2).reshape(b * n, 1, height + 2 * r, width + 2 * r)
        d2 = F.avg_pool2d(d2, 2 * r, stride=1)[..., 1 : 1 + height, 1 : 1 + width].reshape(b, n, 1, height, width)
        dist = torch.clamp(d2 - 2.0 * sigma**2, min=0.0) * scale
        w = torch.where(dist > 5.0, torch.zeros_like(dist), torch.exp(-dist))
        num = num + (w * shifted[..., r : r + height, r : r + width]).sum(1)
        den = den + w.sum(1)
    return num / den


class ShotNoiseDenoiser(nn.Module):
    """``(B, C, H, W)`` on the normalised scale, denoised: GAT, NLM, Wiener x2, exact inverse.

    ``model`` = (gain, offset variance) of ``var = gain * I + offset`` on that scale; a
    non-positive gain means Gaussian noise of variance ``offset``.
    """

    def __init__(self, model: tuple[float, float], channels: int) -> None:
        super().__init__()
        gain, offset = (float(v) for v in model)
        self.gain, self.channels = gain, channels
        self.wiener = WienerPass()
        if gain > 0:
            _, self.offset, self.read = gat_parameters(gain, offset)
            lam, expected = expected_gat_table(round(self.read, 6))
            grid = np.linspace(expected[0], expected[-1], _TABLE)
            self.d0, self.step = float(grid[0]), float(grid[1] - grid[0])
            self.d_max = float(expected[-1])
            self.register_buffer("lam", torch.tensor(np.interp(grid, expected, lam), dtype=torch.float32), False)
            self.sigma = 1.0
        else:
            self.sigma = math.sqrt(max(offset, 0.0))
        opponent = torch.tensor(OPPONENT, dtype=torch.float32)
        self.register_buffer("opponent", opponent, persistent=False)

    def _inverse(self, d: torch.Tensor) -> torch.Tensor:
        """Photons whose expected GAT is ``d``: table below the grid's end, closed form above."""
        t = ((d - self.d0) / self.step).clamp(0.0, _TABLE - 1.001)
        i = t.floor()
        frac = t - i
        i = i.long()
        table = torch.lerp(self.lam[i], self.lam[i + 1], frac)
        table = torch.where(d < self.d0, torch.zeros_like(d), table)
        safe = d.clamp(min=1.0)
        closed = closed_form_inverse(safe, self.read)
        return torch.where(d > self.d_max, closed, table)

    def _colour(self, x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        return torch.einsum("dc,bchw->bdhw", matrix, x) if self.channels == 3 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gain <= 0 and self.sigma == 0:
            return x
        y = x.float()
        if self.gain > 0:
            y = 2.0 * torch.sqrt(torch.clamp((y - self.offset) / self.gain + 0.375 + self.read**2, min=0.0))
        pilot = nl_means(y, self.sigma)
        noisy, guide = self._colour(y, self.opponent), self._colour(pilot, self.opponent)
        b, c, h, w = noisy.shape
        noisy, guide = noisy.reshape(b * c, 1, h, w), guide.reshape(b * c, 1, h, w)
        for _ in range(WIENER_PASSES):
            guide = self.wiener(noisy, guide, self.sigma)
        out = self._colour(guide.reshape(b, c, h, w), self.opponent.T)
        if self.gain > 0:
            out = self._inverse(out) * self.gain + self.offset
        return out.to(x.dtype)


__all__ = ["ShotNoiseDenoiser", "nl_means"]
