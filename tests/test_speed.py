"""The engine's fast training step is the same computation as the reference-style one."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from dualsr.trainer import _Loop, native_bf16_cpu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from baseline_reference import LayeredDown, ReferenceStep  # noqa: E402

# engine loss rows are (total, gan, cycle_forward, cycle_backward, interp, prior, bicubic, discriminator)
SHARED = [0, 2, 3, 4, 7]  # ... the baseline reports total, cycles, interp, discriminator


@pytest.mark.parametrize("channels", [1, 3])
def test_engine_step_equals_the_layer_by_layer_reference_step(texture, tiny_config, channels):
    """Composed G_DN kernel, on-device patches and bicubic vs six layers, NumPy crops: same losses."""
    image = np.stack([texture, texture[::-1], texture[:, ::-1]][:channels]).astype(np.float32)
    config = tiny_config.with_(iterations=3)
    reference = ReferenceStep(image, config)
    torch.manual_seed(config.seed)
    engine = _Loop(image, config, torch.device("cpu"), None)
    for step in range(3):
        expected = reference.step(step)
        got = engine.step(step)[SHARED]
        assert torch.allclose(got, expected, rtol=2e-5, atol=1e-6), (step, got, expected)
    # and the networks the two trained are still the same
    assert torch.allclose(engine.g_dn.kernel(), reference.g_dn.current_kernel(), rtol=1e-4, atol=1e-7)
    for a, b in zip(engine.g_up.parameters(), reference.g_up.parameters()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_reference_kernel_is_a_delta_through_the_layers():
    torch.manual_seed(0)
    g = LayeredDown(8)
    x = torch.rand(1, 1, 40, 40)
    k = g.current_kernel()
    direct = torch.nn.functional.conv2d(x, k[None, None], stride=2)
    assert torch.allclose(g(x), direct, rtol=1e-5, atol=1e-7)


@pytest.mark.skipif(native_bf16_cpu(), reason="this CPU computes bfloat16 natively")
def test_bfloat16_on_a_cpu_without_native_support_warns(texture, tiny_config):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _Loop(texture[None].astype(np.float32), tiny_config.with_(precision="bfloat16"), torch.device("cpu"), None)
    assert any("100x slower" in str(w.message) for w in caught)
