"""The Wiener refinement after non-local means: it must beat its pilot on real textures."""

import numpy as np
from skimage import data
from skimage.restoration import denoise_nl_means

from dualsr.evaluation.metrics import psnr
from dualsr.noise import wiener
from dualsr.noise.denoise import denoise
from dualsr.noise.wiener import wiener_refine


def _nlm(noisy: np.ndarray, sigma: float, channel_axis: int | None = None) -> np.ndarray:
    return denoise_nl_means(
        noisy, patch_size=5, patch_distance=6, h=0.8 * sigma, sigma=sigma, fast_mode=True, channel_axis=channel_axis
    )


def test_wiener_beats_its_nlm_pilot_on_a_photo():
    """Camera (grey), sigma 10 % of its range: the refinement gains over NLM with one pass or two."""
    clean = data.camera()[96:288, 96:288].astype(np.float64) / 25.5  # range 0..10, sigma 1
    noisy = clean + np.random.default_rng(0).normal(0, 1.0, clean.shape)
    pilot = _nlm(noisy, 1.0)
    one, two = (wiener_refine(noisy, pilot, 1.0, passes=p) for p in (1, 2))
    scores = [psnr(x, clean, 10.0) for x in (noisy, pilot, one, two)]
    assert scores[1] > scores[0] + 6  # NLM works ...
    assert scores[2] > scores[1] + 0.5  # ... one Wiener pass adds to it
    assert scores[3] > scores[1] + 0.5  # ... two (the default; better on the benchmark sets) too
    assert one.shape == noisy.shape and one.dtype == np.float64


def test_colour_is_filtered_in_the_opponent_space():
    """RGB: better than filtering each channel alone (the channels' shared signal is used), any channel axis."""
    clean = data.astronaut()[100:228, 150:278].astype(np.float64) / 25.5
    noisy = clean + np.random.default_rng(1).normal(0, 1.0, clean.shape)
    pilot = _nlm(noisy, 1.0, channel_axis=-1)
    joint = wiener_refine(noisy, pilot, 1.0, channel_axis=-1)
    alone = np.stack([wiener_refine(noisy[..., c], pilot[..., c], 1.0) for c in range(3)], -1)
    assert psnr(joint, clean, 10.0) > psnr(alone, clean, 10.0) > psnr(pilot, clean, 10.0)
    first = wiener_refine(np.moveaxis(noisy, -1, 0), np.moveaxis(pilot, -1, 0), 1.0, channel_axis=0)
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), joint, atol=1e-5)


def test_bands_do_not_show(monkeypatch):
    """Large images go through in bands of block rows: the result must not depend on the band height."""
    rng = np.random.default_rng(2)
    noisy = rng.normal(5.0, 1.0, (150, 61))
    pilot = noisy * 0.5 + 2.5
    whole = wiener_refine(noisy, pilot, 1.0)
    monkeypatch.setattr(wiener, "_BAND", 7)
    np.testing.assert_allclose(wiener_refine(noisy, pilot, 1.0), whole, atol=1e-5)


def test_flat_image_and_tiny_image():
    """A flat image stays flat (its mean kept); an image smaller than a block still works."""
    flat = np.full((40, 40), 3.0)
    np.testing.assert_allclose(wiener_refine(flat, flat, 1.0), flat, atol=1e-5)
    tiny = np.random.default_rng(3).normal(0, 1, (5, 6))
    assert wiener_refine(tiny, tiny * 0, 1.0).shape == (5, 6)


def test_default_denoiser_beats_nlm_on_shot_noise():
    """dualsr.noise.denoise's default (NLM + Wiener, after the Anscombe transform) against scikit-image's NLM alone."""
    clean = data.camera()[128:320, 128:320].astype(np.float64) / 255.0
    noisy = np.random.default_rng(4).poisson(clean * 100).astype(np.uint16)  # 100 photons at full scale
    truth = clean * 100
    assert psnr(denoise(noisy), truth, 100.0) > psnr(denoise(noisy, method="nlm"), truth, 100.0) + 0.7
