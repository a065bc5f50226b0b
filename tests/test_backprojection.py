"""Back-projection (config.back_projection): it makes the x2 agree with the LR without halos;
clean images are projected onto the LR, noisy ones (guided G_UP only) onto the denoised copy in
smaller steps; it tiles, exports and re-applies exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import textured
from dualsr import train
from dualsr.config import preset
from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import degrade
from dualsr.inference.backprojection import BackProjection, noisy_step
from dualsr.paper.kernel import gaussian_kernel, prepare_known_kernel
from dualsr.paper.resize import bilinear_up2

KERNEL = prepare_known_kernel(gaussian_kernel(13, 1.2, 2.4, 0.6))


@pytest.fixture(scope="module")
def hr_lr() -> tuple[torch.Tensor, torch.Tensor]:
    hr = textured((96, 112), seed=7)
    lr = degrade(hr, KERNEL)
    return torch.as_tensor(hr, dtype=torch.float32)[None, None], torch.as_tensor(lr, dtype=torch.float32)[None, None]


def test_steps_bring_the_x2_to_the_lr_and_closer_to_the_truth(hr_lr):
    hr, lr = hr_lr
    start = bilinear_up2(lr)  # far from consistent: bilinear ignores the kernel
    project = BackProjection(torch.as_tensor(KERNEL), steps=10)
    with torch.no_grad():
        done = project(start, lr)
        residual = [float((lr - project.down(x)).abs().mean()) for x in (start, done)]
    assert residual[1] < 0.5 * residual[0]
    mse = [float(((x - hr) ** 2)[..., 8:-8, 8:-8].mean()) for x in (start, done)]
    assert mse[1] < 0.8 * mse[0]


def test_every_pixel_stays_in_its_lr_neighbourhoods_range(hr_lr):
    _, lr = hr_lr
    start = bilinear_up2(lr)
    with torch.no_grad():
        done = BackProjection(torch.as_tensor(KERNEL), steps=30, step=2.0)(start, lr)  # pushed hard: it would ring
    padded = torch.nn.functional.pad(lr, (1, 1, 1, 1), mode="replicate")
    hi = torch.nn.functional.max_pool2d(padded, 3, 1).repeat_interleave(2, -2).repeat_interleave(2, -1)
    lo = -torch.nn.functional.max_pool2d(-padded, 3, 1).repeat_interleave(2, -2).repeat_interleave(2, -1)
    assert bool((done <= torch.maximum(hi, start) + 1e-6).all() and (done >= torch.minimum(lo, start) - 1e-6).all())


def test_its_margin_covers_its_reach(hr_lr):
    _, lr = hr_lr
    project = BackProjection(torch.as_tensor(KERNEL), steps=4)
    m, top, left, size = project.margin, 6, 9, 2 * project.margin + 10
    start = bilinear_up2(lr)
    with torch.no_grad():
        whole = project(start, lr)
        crop = (slice(None), slice(None), slice(top, top + size), slice(left, left + size))
        hr_crop = (slice(None), slice(None), slice(2 * top, 2 * (top + size)), slice(2 * left, 2 * (left + size)))
        part = project(start[hr_crop], lr[crop])
    inner = slice(2 * m, 2 * (size - m))
    assert torch.allclose(part[..., inner, inner], whole[hr_crop][..., inner, inner], atol=1e-5)


def test_settings_presets_and_bad_values():
    assert preset("paper").back_projection == 0  # the paper has none
    assert preset("fast").back_projection == 10
    with pytest.raises(DualSRInputError, match="back_projection is a number of steps"):
        preset("fast", back_projection=-1)
    with pytest.raises(DualSRInputError, match="back_projection_step"):
        preset("fast", back_projection_step=0)


@pytest.fixture(scope="module")
def clean_image() -> np.ndarray:
    return (textured((160, 168), seed=5) * 60000 + 500).astype(np.uint16)


def test_fast_projects_clean_images_and_the_model_carries_it(clean_image, tmp_path):
    import onnx

    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    result = train(clean_image, config=preset("fast", iterations=3))
    assert result.noise is not None and not result.noise.active
    assert result.summary()["back_projection"] == 10
    plain = train(clean_image, config=preset("fast", iterations=3, back_projection=0))
    assert plain.summary()["back_projection"] == 0 and not np.array_equal(plain.image, result.image)
    assert np.abs(result.upsample(clean_image, tile=64).astype(int) - result.image.astype(int)).max() <= 1
    path = result.export_onnx(tmp_path / "projected.onnx")
    assert {m.key: m.value for m in onnx.load(path).metadata_props}["back_projection"] == "10"
    got = OnnxUpsampler(path, device="cpu").upsample(clean_image)
    assert np.abs(got.astype(int) - result.image.astype(int)).max() <= 1


def test_noisy_images_are_projected_onto_the_denoised_copy_in_smaller_steps(clean_image):
    assert noisy_step(0.005, 0.01) == 1.0 and noisy_step(0.02, 0.01) == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    noisy = (rng.poisson(clean_image / 65535.0 * 300) * (65535 / 300)).clip(0, 65535).astype(np.uint16)
    guided = train(noisy, config=preset("fast", iterations=2))
    level = guided.noise.estimate.level
    assert guided.noise.active and guided.summary()["back_projection"] == 10
    step = guided.summary()["back_projection_step"]
    assert step == pytest.approx(noisy_step(level, 0.01), abs=1e-4) and step < 0.1
    assert np.abs(guided.upsample(noisy, tile=96).astype(int) - guided.image.astype(int)).max() <= 1
    unguided = train(noisy, config=preset("fast", iterations=2, noise_guide=False))
    assert unguided.summary()["back_projection"] == 0  # no clean LR to project onto
