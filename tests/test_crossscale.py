"""The cross-scale check keeps the detail that holds up one scale down, and only that."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from scipy.ndimage import gaussian_filter

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.inference.crossscale import KEPT_UNCERTAIN, CrossScaleCheck
from dualsr.kernels.camera import camera_kernel
from dualsr.paper.resize import bicubic_resize, bicubic_up2
from dualsr.trust.readout import verdict


@pytest.mark.parametrize("shape", [(7, 9), (64, 33), (2, 5)])
def test_bicubic_up2_is_matlab_bicubic(shape: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *shape, dtype=torch.float64)
    assert torch.allclose(bicubic_up2(x), bicubic_resize(x, 2), atol=1e-12)


def _scene(h: int = 96, w: int = 80, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(gaussian_filter(rng.random((h, w)), 2.0))[None, None]


def test_detail_the_lr_confirms_is_kept_whole() -> None:
    """A pipeline whose answer one scale down is the LR itself: all of its detail is kept, the x2 unchanged."""
    x = _scene()
    check = CrossScaleCheck([camera_kernel()], [[0]], window=8.0).double()

    def oracle(z: torch.Tensor) -> torch.Tensor:
        return x if z.shape[-2:] == (x.shape[-2] // 2, x.shape[-1] // 2) else bicubic_up2(z)

    weights = check.weights(x, oracle)
    assert torch.allclose(weights, torch.ones_like(weights), atol=1e-4)
    out = torch.rand(1, 1, 192, 160, dtype=torch.float64)
    assert torch.allclose(check(x, out, oracle), out, atol=1e-3)


def test_detail_the_lr_contradicts_is_taken_back() -> None:
    """Invented texture (unrelated to the image) holds up nowhere: the x2 falls back to bicubic."""
    x = _scene()
    rng = np.random.default_rng(1)
    check = CrossScaleCheck([camera_kernel()], [[0]], window=8.0).double()

    def inventing(z: torch.Tensor) -> torch.Tensor:
        noise = torch.from_numpy(rng.standard_normal((1, 1, 2 * z.shape[-2], 2 * z.shape[-1])))
        return bicubic_up2(z) + 0.05 * torch.sign(noise) * (bicubic_up2(z) - bicubic_up2(z).mean()).abs().sqrt()

    weights = check.weights(x, inventing)
    assert float(weights.mean()) < 0.2
    assert float(weights.min()) >= 0.0 and float(weights.max()) <= 1.0
    out = check(x, inventing(x), inventing)
    gap = (out - bicubic_up2(x)).abs().mean() / (inventing(x) - bicubic_up2(x)).abs().mean()
    assert gap < 0.3


def test_fast_result_reports_the_check_and_tiles_stay_exact() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(2)
    image = (gaussian_filter(rng.random((171, 189)), 1.5) * 900).clip(0, 255).astype(np.uint8)
    result = train(image, config=preset("fast", iterations=20))
    detail = result.summary()["cross_scale"]
    assert 0.0 <= detail["kept"] <= 1.0 and detail["window"] == 8.0
    assert detail["uncertain"] == (detail["kept"] < KEPT_UNCERTAIN) == bool(result.detail_warning)
    whole = result.upsample(image, tile=None)
    for tile in (45, 64):  # odd tiles are rounded to even: the lower scale keeps the LR's 2x2 grid
        assert np.array_equal(result.upsample(image, tile=tile), whole)
    off = train(image, config=preset("fast", iterations=20, cross_scale_check=False))
    assert off.detail is None and "cross_scale" not in off.summary()
    assert preset("paper").cross_scale_check is False


def test_onnx_file_runs_the_check(tmp_path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    image = (gaussian_filter(rng.random((160, 160)), 1.5) * 900).clip(0, 255).astype(np.float32)
    result = train(image, config=preset("fast", iterations=10))
    path = result.export_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert float(meta["cross_scale_window"]) == 8.0 and "kept" in meta["cross_scale"]
    x = rng.random((1, 1, 70, 58)).astype(np.float32)  # another size than traced
    with torch.inference_mode():
        expected = result.upsampler(torch.from_numpy(x)).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(got - expected).max() < 1e-4


def test_verdict_says_when_little_detail_held_up() -> None:
    line = verdict(None, kept=0.5)
    assert "detail uncertain: 50 %" in line
    assert "detail uncertain" not in verdict(None, kept=0.9)


def test_detail_within_the_rounding_is_dropped() -> None:
    """With an integer LR's step given, detail below the rounding's standard deviation is not kept; above it,
    whole; without a step (float data, the noise model, a blur model) everything is kept."""
    from dualsr.inference.crossscale import ROUNDING_STD

    x = _scene()

    def oracle(z: torch.Tensor) -> torch.Tensor:
        return x if z.shape[-2:] == (x.shape[-2] // 2, x.shape[-1] // 2) else bicubic_up2(z)

    step = 1 / 255
    levels = torch.tensor([0.1, 0.25, 0.35, 2.0], dtype=torch.float64) * step  # detail of 0.1 ... 2 LSB
    detail = levels.repeat(192 * 160 // 4).view(1, 1, 192, 160)
    out = bicubic_up2(x) + detail
    kept = CrossScaleCheck([camera_kernel()], [[0]], window=8.0, lsbs=[step]).double()(x, out, oracle) - bicubic_up2(x)
    small = detail.abs() <= ROUNDING_STD * step
    assert float(kept[small].abs().max()) == 0.0
    assert torch.allclose(kept[~small], detail[~small], atol=1e-3 * step)
    assert abs(ROUNDING_STD - 0.2887) < 1e-4 and int(small.sum()) == 192 * 160 // 2
    whole = CrossScaleCheck([camera_kernel()], [[0]], window=8.0).double()(x, out, oracle) - bicubic_up2(x)
    assert torch.allclose(whole, detail, atol=1e-3 * step)


def test_the_rounding_rule_is_on_for_camera_integer_images_and_in_the_onnx_file(tmp_path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(4)
    image = ((gaussian_filter(rng.random((160, 160)), 1.0) - 0.5) * 900 + 128).clip(0, 255).astype(np.uint8)
    config = preset("fast", iterations=10, acquisition="camera", noise="off")  # a noise-free camera image
    result = train(image, config=config)
    assert result.upsampler.check.thresholded
    assert float(result.upsampler.check.tolerance.max()) == pytest.approx(0.2887 / 255, rel=1e-3)
    assert not train(image.astype(np.float32), config=config).upsampler.check.thresholded  # float: no rounding
    assert not train(image, config=config.with_(acquisition="gaussian-blur")).upsampler.check.thresholded
    path = result.export_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = (rng.random((1, 1, 64, 70)) * 255).round().astype(np.float32) / 255
    with torch.inference_mode():
        expected = result.upsampler(torch.from_numpy(x)).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(got - expected).max() < 1e-4
