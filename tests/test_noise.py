"""The noise estimator on synthetic images with known noise, and on clean real images."""

import numpy as np
import pytest

from conftest import textured
from dualsr.config import NOISY_THRESHOLD
from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import degrade
from dualsr.io.sample import sample_hr, sample_lr, sample_noisy_lr
from dualsr.noise.estimate import estimate_noise, estimate_sigma
from dualsr.paper.kernel import gaussian_kernel


def cells(shape=(256, 256), seed=0) -> np.ndarray:
    """A fluorescence-like scene in [0.03, 1]: blurred blobs of many sizes and brightnesses on a dim background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    img = np.full(shape, 0.03)
    for _ in range(60):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        r = rng.uniform(3, 20)
        img += rng.uniform(0.1, 0.5) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    return 0.03 + 0.97 * (img - img.min()) / (img.max() - img.min())


def smooth_texture(seed=0) -> np.ndarray:
    """A natural-looking texture with edges, blurred and subsampled x2 as a benchmark LR is: 256x256 in [0.05, 0.95]."""
    hr = np.kron(textured((256, 256), seed), np.ones((2, 2)))
    return 0.05 + 0.9 * degrade(hr, gaussian_kernel(13, 2.0, 1.2, angle=0.3))


@pytest.mark.parametrize("sigma", [0.01, 0.05])
def test_gaussian_sigma_is_recovered(sigma):
    rng = np.random.default_rng(1)
    for clean in (smooth_texture(), cells()):
        noisy = clean + rng.normal(0, sigma, clean.shape)
        est = estimate_noise(noisy)
        assert est.model == "gaussian" and est.gain == 0
        assert est.sigma == pytest.approx(sigma, rel=0.1)
        assert est.level == pytest.approx(est.sigma / est.full_scale)  # the same everywhere


@pytest.mark.parametrize("peak", [30, 300, 3000])
def test_photon_level_is_recovered(peak):
    """Poisson noise with ``peak`` photons at 1.0: the estimated photons at 1.0 within 10 %."""
    for seed in (0, 1, 2):
        clean = cells(seed=seed)
        est = estimate_noise(np.random.default_rng(seed).poisson(clean * peak) / peak)
        assert est.model == "poisson-gaussian"
        assert est.photons(1.0) == pytest.approx(peak, rel=0.1)
        mid = est.low + 0.5 * est.full_scale
        assert est.level == pytest.approx(np.sqrt(mid / peak) / est.full_scale, rel=0.1)
    # a texture spanning a narrow range of levels pins the noise where its pixels are (the split
    # into shot and read noise, extrapolated to 0 and 1, is looser there)
    clean = smooth_texture()
    est = estimate_noise(np.random.default_rng(3).poisson(clean * peak) / peak)
    for level in np.percentile(clean, [10, 50, 90]):
        assert est.std(level) == pytest.approx(np.sqrt(level / peak), rel=0.1)


def test_camera_counts_with_offset_and_read_noise():
    """uint16 counts: offset 100, 20 grey levels per photon, read noise of 2 photons."""
    rng = np.random.default_rng(3)
    clean = cells(seed=3)
    raw = 100 + 20 * (rng.poisson(clean * 500) + rng.normal(0, 2, clean.shape))
    est = estimate_noise(np.clip(raw, 0, 65535).astype(np.uint16))
    assert est.model == "poisson-gaussian"
    assert est.gain == pytest.approx(20, rel=0.1)
    for photons in (50, 250, 450):  # the noise where the image has data: sqrt(20^2 (photons + 4))
        assert est.std(100 + 20 * photons) == pytest.approx(20 * np.sqrt(photons + 4), rel=0.1)
    unit = est.in_unit_range()  # the same noise on the [0, 1] scale the engine trains on
    for x in (0.2, 0.7):
        assert unit.std(x) * est.full_scale == pytest.approx(est.std(est.low + x * est.full_scale))
    assert unit.level == pytest.approx(est.level) and unit.photons_full_scale == pytest.approx(est.photons_full_scale)
    other = est.in_unit_range(low=100.0, high=20100.0)  # another normalisation: ~1000 photons from 0 to 1
    assert other.photons(1.0) == pytest.approx(est.photons(20000.0))
    assert other.std(0.0) == pytest.approx(est.std(100) / 2e4)


def test_clean_images_read_clean_and_noisy_ones_noisy():
    skimage_data = pytest.importorskip("skimage.data")
    names = ("astronaut", "coffee", "moon", "cell", "immunohistochemistry", "chelsea", "rocket")
    clean = {name: getattr(skimage_data, name)() for name in names}
    clean["sample HR"] = sample_hr().data
    for name, image in clean.items():
        est = estimate_noise(image, -1 if image.ndim == 3 else None)
        assert not est.is_noisy(), f"{name}: {est.describe()}"
        assert est.level < 0.9 * NOISY_THRESHOLD
    mild = estimate_noise(sample_lr().data)  # 4000 photons full scale: mild, yet worth the noise model
    assert mild.is_noisy() and mild.level < 0.5 * estimate_noise(sample_noisy_lr().data).level
    noisy = estimate_noise(sample_noisy_lr().data)
    assert noisy.is_noisy() and noisy.level > 1.5 * NOISY_THRESHOLD
    assert noisy.photons_full_scale == pytest.approx(300 * noisy.full_scale / 50000, rel=0.1)
    assert "noisy" in noisy.describe() and "photons" in noisy.describe()


def test_estimate_sigma_is_scikit_images():
    """Same wavelet, same statistic: scikit-image's estimate_sigma (it pads the borders, so not to the last digit)."""
    pytest.importorskip("pywt")
    from skimage.restoration import estimate_sigma as skimage_sigma

    noisy = smooth_texture() + np.random.default_rng(0).normal(0, 0.02, (256, 256))
    assert estimate_sigma(noisy) == pytest.approx(skimage_sigma(noisy), rel=0.01)


def test_bad_inputs_are_named():
    with pytest.raises(DualSRInputError, match="channel_axis"):
        estimate_noise(np.zeros((64, 64, 3)))
    with pytest.raises(DualSRInputError, match="too small"):
        estimate_noise(np.zeros((8, 64)))
    with pytest.raises(DualSRInputError, match="NaN"):
        estimate_noise(np.full((64, 64), np.nan))
    flat = estimate_noise(np.full((64, 64), 7, np.uint16))
    assert flat.sigma < 1e-12 and not flat.is_noisy()


def test_a_saturated_image_reads_noise_free_and_trains():
    """Nearly every pixel at full scale, a few smooth levels: no level set has measurable noise. Its weights
    once overflowed (``SVD did not converge``); now it reads noise-free and trains."""
    from scipy.ndimage import gaussian_filter

    import dualsr

    rng = np.random.default_rng(4)
    image = (gaussian_filter(rng.random((160, 160)), 1.0) * 900).clip(0, 255).astype(np.uint8)
    assert (image == 255).mean() > 0.99
    estimate = estimate_noise(image)
    assert estimate.sigma == 0.0 and not estimate.is_noisy()
    assert dualsr.train(image, preset_name="fast", iterations=2).image.shape == (320, 320)


def test_a_piecewise_flat_image_reads_noise_free_and_noise_on_it_still_reads():
    """A camera-binned Shepp-Logan phantom: its level sets between flat regions hold only edges, which once read
    as 1.3 % shot noise and switched the noise model on (the x2's black lifted by 4.5 grey levels, SSIM 0.97 ->
    0.65). Flat sets above noisy ones say it is noise-free; with noise added, or photons on a dark background
    (whose darkest sets are flat: patches of no photons), it still reads noisy."""
    skimage_data = pytest.importorskip("skimage.data")
    phantom = skimage_data.shepp_logan_phantom()[8:392, 8:392] * 255
    lr = phantom.reshape(192, 2, 192, 2).mean(axis=(1, 3))  # 2x2 pixel integration
    clean = estimate_noise(np.rint(lr).astype(np.uint8))
    assert clean.sigma == 0.0 and not clean.is_noisy(), clean.describe()
    rng = np.random.default_rng(5)
    noisy = estimate_noise(np.clip(np.rint(lr + rng.normal(0, 4, lr.shape)), 0, 255).astype(np.uint8))
    assert noisy.is_noisy() and noisy.sigma == pytest.approx(4, rel=0.25), noisy.describe()
    for peak in (30, 300):  # EM-gain counts on a background of no photons: 10 grey levels a photon, offset 100
        counts = rng.poisson(np.clip(cells(seed=6) - 0.03, 0, None) * peak)
        est = estimate_noise((100 + 10 * counts).astype(np.uint16))
        assert est.is_noisy() and est.model == "poisson-gaussian", est.describe()
