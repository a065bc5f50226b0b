"""The guided G_UP (``noise_guide``): the denoiser in torch, training, exact tiles, ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import dead_leaves
from dualsr import train
from dualsr.config import DualSRConfig, preset
from dualsr.engine.loop import make_step
from dualsr.evaluation.degrade import degrade
from dualsr.inference.tiling import model_margin
from dualsr.noise.denoise import denoise
from dualsr.noise.denoise_net import ShotNoiseDenoiser
from dualsr.noise.estimate import NoiseEstimate
from dualsr.noise.model import GuidedUp, clean_copy, plan_noise, unit_noise
from dualsr.paper.kernel import gaussian_kernel
from dualsr.paper.networks import GeneratorUp
from dualsr.runtime.onnx_runtime import OnnxUpsampler

KERNEL = gaussian_kernel(13, 1.2, 2.5, 0.5)


@pytest.fixture(scope="module")
def lr() -> np.ndarray:
    hr = 0.05 + 0.9 * dead_leaves(256, seed=2, r_min=3.0)
    return degrade(hr, KERNEL, 2)


def photons(lr: np.ndarray, peak: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(lr * peak).astype(np.float32) / peak


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.mark.parametrize("peak", [300, 30])
def test_the_torch_denoiser_is_the_library_pipeline(lr, peak):
    """The same GAT + NLM + Wiener + exact inverse as ``denoise(method="nlm_wiener")`` with
    scikit-image's NLM: equal denoising PSNR (0.05 dB), outputs equal to > 60 dB."""
    noisy = photons(lr, peak)
    estimate = plan_noise("on", noisy[None]).estimate
    reference = denoise(noisy, estimate)
    module = ShotNoiseDenoiser(unit_noise(estimate, 0.0, 1.0), 1)
    with torch.no_grad():
        ours = module(torch.as_tensor(noisy)[None, None])[0, 0].numpy()
    assert ours.shape == noisy.shape and ours.dtype == noisy.dtype
    assert psnr(ours, lr) > psnr(noisy, lr) + 3
    assert abs(psnr(ours, lr) - psnr(reference, lr)) < 0.05 and psnr(ours, reference) > 60


def test_the_torch_denoiser_on_colour_and_gaussian_noise(lr):
    rgb = np.stack([lr, lr[::-1], lr[:, ::-1]])
    noisy = (rgb + np.random.default_rng(1).normal(0, 0.05, rgb.shape)).astype(np.float32)
    estimate = NoiseEstimate("gaussian", 0.0, 0.05**2, 0.05, 0.0, 1.0)
    reference = denoise(noisy, estimate, channel_axis=0)
    with torch.no_grad():
        ours = ShotNoiseDenoiser((0.0, 0.05**2), 3)(torch.as_tensor(noisy)[None])[0].numpy()
    assert abs(psnr(ours, rgb) - psnr(reference, rgb)) < 0.05 and psnr(ours, rgb) > psnr(noisy, rgb) + 3
    clean = torch.as_tensor(rgb, dtype=torch.float32)[None]
    assert torch.equal(ShotNoiseDenoiser((0.0, 0.0), 3)(clean), clean)  # no noise: nothing to do


def test_the_loop_gives_the_guided_g_up_the_denoised_crop(lr):
    noisy = photons(lr, 100)[None]
    estimate = plan_noise("on", noisy).estimate
    clean = clean_copy(noisy, estimate)
    config = DualSRConfig(iterations=3, hr_crop=64, lr_crop=32, up_features=16, noise_guide=True)
    loop = make_step(noisy, config, torch.device("cpu"), KERNEL, clean=clean, noise=unit_noise(estimate, 0.0, 1.0))
    assert isinstance(loop.g_up, GuidedUp) and loop.g_up.g_up.body[0].in_channels == 2
    _, x = loop.sampler.patches(0)
    assert x.shape[1] == 3  # noisy, clean target, guide
    guide = loop.g_up.denoise_image(noisy)
    assert guide.shape == noisy.shape and psnr(guide[0], lr) > psnr(noisy[0], lr) + 3
    assert torch.equal(loop._guide(x), x[:, 2:]) and loop.step(0).isfinite().all()
    unguided = config.with_(noise_guide=False)
    plain = make_step(noisy, unguided, torch.device("cpu"), KERNEL, clean=clean, noise=(0.01, 0.0))
    assert type(plain.g_up) is GeneratorUp and plain._guide(x) is None


def test_the_guided_result_tiles_exactly_and_exports_with_its_denoiser(lr, tmp_path):
    """The denoiser reaches 22 LR pixels further than G_UP: tiles carry its margin, the ONNX
    file carries the denoiser and that margin, and every path gives the trained result."""
    noisy = (photons(lr, 300) * 4000).astype(np.uint16)
    config = preset("fast", iterations=6, noise_guide=True, hr_crop=64, lr_crop=32)
    result = train(noisy, config=config)
    assert result.noise.active and isinstance(result.upsampler.models[0], GuidedUp)
    assert np.abs(result.upsample(noisy, tile=48).astype(np.int64) - result.image).max() <= 1  # float order
    path = result.export_onnx(tmp_path / "guided.onnx")
    model = OnnxUpsampler(path, device="cpu")
    assert model.margin == model_margin(result.upsampler) >= 32  # the denoiser's, and the back-projection's
    whole, tiled = model.upsample(noisy), model.upsample(noisy, tile=48)
    assert np.abs(whole.astype(np.int64) - result.image).max() <= 1
    assert np.abs(tiled.astype(np.int64) - whole).max() <= 1


def test_a_clean_image_trains_the_plain_g_up(lr):
    config = preset("fast", iterations=2, noise_guide=True, hr_crop=64, lr_crop=32)
    result = train(lr.astype(np.float32), config=config)
    assert not result.noise.active and type(result.upsampler.models[0]) is GeneratorUp


@pytest.mark.parametrize("flag, expected", [([], True), (["--noise-guide", "off"], False)])
def test_the_cli_names_the_guide_and_records_it(lr, tmp_path, capsys, flag, expected):
    import json

    import tifffile

    from conftest import run_cli

    src, out = str(tmp_path / "noisy.npy"), tmp_path / "out.tif"
    np.save(src, photons(np.tile(lr, (2, 2)), 100))  # the CLI's smallest image is 148²
    args = ["train", src, "-o", out, "--preset", "fast", "--iterations", "2", *flag]
    code, stdout, _ = run_cli(args, capsys)
    with tifffile.TiffFile(out) as tif:
        config = json.loads(tif.imagej_metadata["Info"])["config"]
    assert code == 0 and "noise model on" in stdout and config["noise_guide"] is expected
    assert preset("paper").noise_guide is False and preset("fast").noise_guide is True
