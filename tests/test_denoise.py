"""The denoiser: variance stabilisation, its exact unbiased inverse, and real library denoising."""

import numpy as np
import pytest

from dualsr.errors import DualSRInputError
from dualsr.evaluation.metrics import psnr
from dualsr.noise.denoise import denoise, exact_unbiased_inverse, stabilise
from dualsr.noise.estimate import NoiseEstimate, estimate_noise
from test_noise import cells


@pytest.mark.parametrize("read_sigma", [0.0, 1.0])
def test_exact_unbiased_inverse_recovers_the_photons(read_sigma):
    """The mean of the stabilised counts maps back to the photon count, even at a fraction of a photon.

    The algebraic inverse ((d / 2)^2 - 3/8 - sigma^2) is biased low by ~0.25 photons from 2 photons up.
    """
    rng = np.random.default_rng(0)
    for lam in (0.2, 2.0, 20.0, 200.0):
        counts = rng.poisson(lam, 200_000) + rng.normal(0, read_sigma, 200_000)
        d = stabilise(counts, read_sigma).mean()
        assert exact_unbiased_inverse(np.array([d]), read_sigma)[0] == pytest.approx(lam, rel=0.03, abs=0.01)
        assert lam < 2 or (d / 2) ** 2 - 0.375 - read_sigma**2 < lam - 0.15
    assert exact_unbiased_inverse(np.array([0.0, 1.0]), 0.0).tolist() == [0.0, 0.0]  # below no photons: 0
    assert stabilise(rng.poisson(50.0, 100_000), 0.0).std() == pytest.approx(1.0, abs=0.03)  # the point of it


def test_denoise_shot_noise_at_30_photons():
    clean = cells((192, 192), seed=4)
    rng = np.random.default_rng(4)
    counts = rng.poisson(clean * 30)
    noisy = np.clip(100 + 50 * counts, 0, 65535).astype(np.uint16)  # offset 100, 50 grey levels per photon
    out = denoise(noisy)  # estimates the noise itself
    assert out.shape == noisy.shape and out.dtype == np.uint16
    truth = 100 + 50 * 30 * clean
    assert psnr(out, truth, 1500.0) > psnr(noisy, truth, 1500.0) + 8
    dark = clean < 0.1  # about 1-3 photons: the exact inverse keeps their mean (the algebraic one would not)
    assert out[dark].astype(float).mean() == pytest.approx(truth[dark].mean(), rel=0.05)


def test_denoise_gaussian_rgb_keeps_dtype_and_channels():
    clean = np.stack([cells((128, 128), seed=s) for s in (5, 6, 7)], -1)
    noisy = np.clip((clean + np.random.default_rng(5).normal(0, 0.05, clean.shape)) * 255, 0, 255).astype(np.uint8)
    est = estimate_noise(noisy, channel_axis=-1)
    assert est.model == "gaussian" and est.sigma == pytest.approx(0.05 * 255, rel=0.15)
    out = denoise(noisy, est, channel_axis=-1)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert psnr(out, clean * 255, 255.0) > psnr(noisy, clean * 255, 255.0) + 4
    planar = denoise(np.moveaxis(noisy, -1, 0), est, channel_axis=0)  # channels first: the same result
    assert np.array_equal(np.moveaxis(planar, 0, -1), out)


def test_no_noise_no_change_and_bad_method():
    image = cells((64, 64)).astype(np.float32)
    silent = NoiseEstimate("gaussian", 0.0, 0.0, 0.0, 0.0, 1.0)
    assert np.array_equal(denoise(image, silent), image) and denoise(image, silent).dtype == np.float32
    with pytest.raises(DualSRInputError, match="unknown denoiser"):
        denoise(image, silent, method="magic")


def test_bm3d_where_installed():
    pytest.importorskip("bm3d")
    clean = cells((96, 96), seed=8)
    noisy = np.random.default_rng(8).poisson(clean * 100) / 100
    out = denoise(noisy, method="bm3d")
    assert psnr(out, clean, 1.0) > psnr(noisy, clean, 1.0) + 6
