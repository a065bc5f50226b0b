"""The engine's fast training step is the same computation as the reference-style one."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from dualsr.engine.loop import make_step
from dualsr.paper.step import native_bf16_cpu

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
    engine = make_step(image, config, torch.device("cpu"), None)
    for step in range(3):
        expected = reference.step(step)
        got = engine.step(step)[SHARED]
        # float32 sums in another order (thread count, OMP_NUM_THREADS=1 included): 1e-4, not exact
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6), (step, got, expected)
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
        make_step(texture[None].astype(np.float32), tiny_config.with_(precision="bfloat16"), torch.device("cpu"), None)
    assert any("100x slower" in str(w.message) for w in caught)


# Losses of the paper's method at toy size, as the engine computed them at commit 20fc889,
# before the spectral kernel path and the convergence tracker were added (one torch thread).
GOLDEN_TOTAL = [
    1.15486,
    2.96257,
    1.70515,
    0.80522,
    0.60036,
    0.77519,
    0.55966,
    0.54787,
    0.48114,
    0.52832,
    4.25988,
    4.26480,
]
GOLDEN_D = [0.27119, 0.27401, 0.26560, 0.26768, 0.26448, 0.26683]
GOLDEN_D += [0.26321, 0.25781, 0.26413, 0.25841, 0.25937, 0.25529]


def test_the_paper_method_is_step_for_step_what_it_was(texture, tiny_config):
    """12 steps through the bicubic phase and two prior-weight switches give the same losses."""
    from conftest import one_thread
    from dualsr import train

    config = tiny_config.with_(iterations=12, lr_step=5, reg_update_every=3)
    assert config.kernel_estimator == "gan"
    with one_thread():
        history = train(texture, config=config).history[0]
    assert np.allclose(history["total"], GOLDEN_TOTAL, rtol=1e-3)
    assert np.allclose(history["discriminator"], GOLDEN_D, rtol=1e-3)
