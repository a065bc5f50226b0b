"""Soft content stays soft (dualsr.engine.softening): the backward cycle also on softened patches."""

from __future__ import annotations

import numpy as np
import torch

from conftest import dead_leaves
from dualsr.config import preset
from dualsr.engine.loop import make_step
from dualsr.engine.softening import SMALLEST, Softening
from dualsr.paper.kernel import gaussian_kernel
from dualsr.paper.step import LOSS_NAMES, DualSRStep

KERNEL = gaussian_kernel(13, 1.0, 1.5, 0.3)


def _patch() -> torch.Tensor:
    return torch.as_tensor(dead_leaves(64, seed=4), dtype=torch.float32)[None, None]


def _fine(x: torch.Tensor) -> float:
    """Energy of the finest detail (differences between neighbours)."""
    return float((x[..., 1:, :] - x[..., :-1, :]).square().mean() + (x[..., 1:] - x[..., :-1]).square().mean())


def test_softening_draws_within_its_range_repeats_with_its_seed_and_blurs():
    y = _patch()
    a, b = Softening(1.5, 3), Softening(1.5, 3)
    sigmas = []
    for _ in range(60):
        out = a(y)
        assert torch.equal(out, b(y))  # the same seed, the same draws
        sigmas.append(a.last_sigma)
        if a.last_sigma <= SMALLEST:
            assert out is y  # nothing to blur: the patch as cut
        elif a.last_sigma > 0.5:
            assert _fine(out) < 0.5 * _fine(y)  # softer ...
            inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
            assert abs(float(out[inner].mean() - y[inner].mean())) < 0.02  # ... not darker or brighter
    assert 0.0 <= min(sigmas) < 0.3 and 1.2 < max(sigmas) <= 1.5  # U(0, 1.5): near-sharp and soft patches
    assert Softening(1.5, 4)(y).shape == y.shape


def _losses(soften, tiny_config, steps: int = 2) -> list[torch.Tensor]:
    torch.manual_seed(0)  # the networks' initial weights
    image = dead_leaves(96, seed=5)[None].astype(np.float32)
    step = DualSRStep(image, tiny_config, torch.device("cpu"), KERNEL, soften)
    return [step.step(i) for i in range(steps)]


def test_without_blur_the_softened_cycle_is_the_papers(tiny_config):
    """The extension's path through the cycle, given a patch it leaves as cut, is the paper's cycle."""
    for paper, same in zip(_losses(None, tiny_config), _losses(lambda y: y, tiny_config)):
        assert torch.equal(paper, same)


def test_softening_changes_only_the_backward_cycle(tiny_config):
    paper = _losses(None, tiny_config, steps=1)[0]
    soft = _losses(lambda y: torch.full_like(y, 0.5), tiny_config, steps=1)[0]
    changed = {name for name, p, s in zip(LOSS_NAMES, paper, soft) if not torch.equal(p, s)}
    assert changed == {"total", "cycle_backward"}


def test_no_preset_softens_and_the_setting_reaches_the_step(tiny_config):
    assert preset("paper").cycle_softening == 0.0 and preset("fast").cycle_softening == 0.0  # measured, not kept
    image = dead_leaves(96, seed=5)[None].astype(np.float32)
    assert make_step(image, tiny_config, torch.device("cpu"), KERNEL).soften is None
    softened = make_step(image, tiny_config.with_(cycle_softening=1.5), torch.device("cpu"), KERNEL)
    assert isinstance(softened.soften, Softening) and softened.soften.max_sigma == 1.5
