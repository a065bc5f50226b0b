"""The 180-degree self-ensemble (config.self_ensemble): where it applies, what it computes,
and that the exported, tiled and re-applied model computes the same."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import textured
from dualsr import train
from dualsr.config import preset
from dualsr.inference.upsampler import GroupedUpsampler
from dualsr.kernels.spectral import gaussian_from_covariance
from dualsr.paper.kernel import gaussian_kernel, point_symmetric, prepare_known_kernel
from dualsr.paper.networks import GeneratorUp


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return (textured((192, 200), seed=4) * 60000 + 500).astype(np.uint16)


@pytest.fixture(scope="module")
def fast_result(image):
    return train(image, config=preset("fast", iterations=3))


def test_gaussians_are_point_symmetric_and_lopsided_kernels_are_not():
    for cov in ([[0.2, 0.0], [0.0, 0.2]], [[2.0, 0.8], [0.8, 3.0]], [[9.0, 0.0], [0.0, 20.0]]):
        assert point_symmetric(gaussian_from_covariance(np.array(cov)))
    assert point_symmetric(prepare_known_kernel(gaussian_kernel(13, 1.6, 4.0, 1.2)))
    lopsided = np.zeros((13, 13))
    lopsided[6, 6], lopsided[6, 8], lopsided[7, 7] = 1.0, 0.5, 0.2  # a comet tail to the right
    assert not point_symmetric(prepare_known_kernel(lopsided))
    noisy = gaussian_kernel(13, 1.6, 4.0, 1.2) * np.random.default_rng(0).uniform(0.75, 1.25, (13, 13))
    assert not point_symmetric(prepare_known_kernel(noisy))  # DIV2KRK-style pixel noise


def test_the_ensemble_averages_the_image_and_its_half_turn():
    torch.manual_seed(0)
    g_up = GeneratorUp(1, 4, 8).eval()
    plain, ensemble = GroupedUpsampler([g_up], [[0]]), GroupedUpsampler([g_up], [[0]], ensemble=True)
    x = torch.rand(1, 1, 20, 24)
    turn = lambda t: torch.flip(t, (-2, -1))  # noqa: E731
    with torch.no_grad():
        assert torch.allclose(ensemble(x), 0.5 * (plain(x) + turn(plain(turn(x)))), atol=1e-6)
        assert torch.allclose(ensemble(turn(x)), turn(ensemble(x)), atol=1e-6)  # equivariant to the half turn
        assert not torch.allclose(plain(turn(x)), turn(plain(x)), atol=1e-4)  # which G_UP alone is not


def test_fast_applies_it_where_the_kernel_allows(image, fast_result, tiny_config):
    assert fast_result.config.self_ensemble and fast_result.summary()["self_ensemble"] is True
    gaussian = train(image, config=preset("fast", iterations=2), known_kernel=gaussian_kernel(13, 1.6, 4.0, 1.2))
    assert gaussian.summary()["self_ensemble"] is True
    noisy = gaussian_kernel(13, 1.6, 4.0, 1.2) * np.random.default_rng(0).uniform(0.75, 1.25, (13, 13))
    assert train(image, config=preset("fast", iterations=2), known_kernel=noisy).summary()["self_ensemble"] is False
    assert train(image, config=tiny_config).summary()["self_ensemble"] is False  # the paper: GAN kernel, no ensemble
    assert preset("paper").self_ensemble is False


def test_an_ensemble_model_tiles_exports_and_reapplies_exactly(image, fast_result, tmp_path):
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    assert np.array_equal(fast_result.upsample(image), fast_result.image)
    tiled = fast_result.upsample(image, tile=48)
    assert np.abs(tiled.astype(int) - fast_result.image.astype(int)).max() <= 1
    path = fast_result.export_onnx(tmp_path / "ensemble.onnx")  # checked against torch before it is written
    import onnx

    assert {m.key: m.value for m in onnx.load(path).metadata_props}["self_ensemble"] == "true"
    got = OnnxUpsampler(path, device="cpu").upsample(image)
    assert np.abs(got.astype(int) - fast_result.image.astype(int)).max() <= 1
