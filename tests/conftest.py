"""Shared fixtures: small synthetic images and a tiny-but-real training config."""

from __future__ import annotations

import numpy as np
import pytest

from dualsr.config import DualSRConfig


def textured(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A smooth random texture with edges, in [0, 1]: something worth super-resolving."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / 8.0
    img = np.zeros(shape)
    for _ in range(12):
        fy, fx, ph = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.uniform(0, 6.3)
        img += np.sin(fy * yy + fx * xx + ph)
    blocks = rng.random((h // 16 + 1, w // 16 + 1)) > 0.6
    img += 1.5 * np.kron(blocks, np.ones((16, 16)))[:h, :w]
    img -= img.min()
    return img / img.max()


@pytest.fixture
def texture() -> np.ndarray:
    return textured((192, 200))


@pytest.fixture
def tiny_config() -> DualSRConfig:
    """The paper's method at toy size: small patches and networks, few steps."""
    return DualSRConfig(
        iterations=4,
        hr_crop=64,
        lr_crop=32,
        up_features=16,
        dn_features=16,
        d_features=16,
        lr_step=100,
        reg_update_every=20,
    )
