"""Soft content stays soft: the backward cycle also trained on softened patches (not in the paper).

DualSR's G_UP learns x2 from the image one scale down: ``G_DN(y) -> y`` for patches ``y`` of the LR.
It then meets the LR itself. Where the scene's softness is physical (a lens, a mortar line's
rounded edge) it does not halve with the scale: the LR's soft edges are twice as wide in its pixels
as the ones G_UP learned from, and G_UP, having seen pixel-sharp inputs give pixel-sharp outputs,
draws them sharp at x2 (camera-binned brick: 0.32 dB below bicubic, its mortar lines taller and
narrower than the HR's). Blurring ``y`` by a Gaussian of a random width before the cycle shows G_UP
soft inputs that must give equally soft outputs, the pairs the x2 step needs; widths near 0 keep the
paper's pairs. Measured and not kept in any preset (``config.cycle_softening``, default 0): on 14
camera-binned images brick gained (+0.38 and +0.54 dB with two seeds) and most others moved within
about 0.2 dB either way, but the piecewise-flat phantom lost 1.65 dB and coins 0.48 dB
(docs/benchmarks.md, "Soft content stays soft?").
"""

from __future__ import annotations

import math

import torch

from dualsr.inference.crossscale import gaussian_smooth

SMALLEST = 0.05  # a sigma below this (LR pixels) leaves the patch as cut
SEED_OFFSET = 7919  # the draws' generator: config.seed + this (apart from the patches' and the noise's)


class Softening:
    """``y`` blurred by a Gaussian of sigma ~ U(0, ``max_sigma``) LR pixels, one draw per call (per step)."""

    def __init__(self, max_sigma: float, seed: int) -> None:
        self.max_sigma = float(max_sigma)
        self.generator = torch.Generator().manual_seed(int(seed) + SEED_OFFSET)
        self.last_sigma = 0.0

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        sigma = self.max_sigma * float(torch.rand((), generator=self.generator))
        self.last_sigma = sigma
        if sigma <= SMALLEST:
            return y
        return gaussian_smooth(y, sigma, math.ceil(3 * sigma))


__all__ = ["Softening"]
