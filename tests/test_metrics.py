import numpy as np
import pytest

from dualsr.evaluation.metrics import (
    comparable_kernels,
    gaussian_window,
    kernel_covariance,
    kernel_error,
    psnr,
    sr_metrics,
    ssim,
    ssim_map,
    to_y,
)
from dualsr.paper.kernel import gaussian_kernel

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def test_y_weights_are_matlab_rgb2ycbcr():
    px = lambda r, g, b: np.array([[[r, g, b]]], dtype=np.uint8)  # noqa: E731
    assert to_y(px(0, 0, 0))[0, 0] == pytest.approx(16.0)
    assert to_y(px(255, 255, 255))[0, 0] == pytest.approx(235.0)  # 16 + 219
    assert to_y(px(255, 0, 0))[0, 0] == pytest.approx(16 + 65.481)
    assert to_y(px(0, 255, 0))[0, 0] == pytest.approx(16 + 128.553)
    assert to_y(px(0, 0, 255))[0, 0] == pytest.approx(16 + 24.966)
    assert to_y(np.full((2, 2, 3), 0.5), data_range=1.0)[0, 0] == pytest.approx(16 + 219 * 127.5 / 255)
    grey = np.array([[0, 1000, 65535]], dtype=np.uint16)
    assert np.allclose(to_y(grey, 65535.0), [[0, 1000 * 255 / 65535, 255]])  # grey: the one channel
    rgba = np.zeros((1, 1, 4))
    assert to_y(rgba, 255.0)[0, 0] == 16.0


def test_psnr_of_a_constant_offset():
    hr = np.random.default_rng(0).integers(20, 200, (40, 40)).astype(np.uint8)
    sr = hr + 5
    assert sr_metrics(sr, hr)["psnr"] == pytest.approx(20 * np.log10(255 / 5))
    # RGB offset 5 in every channel moves Y by 5 * 219 / 255
    rgb = np.random.default_rng(1).integers(20, 200, (40, 40, 3)).astype(np.float64)
    assert sr_metrics(rgb + 5, rgb)["psnr"] == pytest.approx(20 * np.log10(255 / (5 * 219 / 255)))
    # only the border (shaved by the scale) differs: a perfect score
    bordered = hr.astype(float).copy()
    bordered[:2] += 50
    bordered[:, -2:] -= 30
    assert sr_metrics(bordered, hr, scale=2)["psnr"] == float("inf")
    assert sr_metrics(bordered, hr, scale=1)["psnr"] < 40
    assert psnr(hr + 3.0, hr, 255.0, shave=0) == pytest.approx(20 * np.log10(255 / 3))


def test_ssim_window_is_matlab_fspecial():
    w = gaussian_window()
    assert w.shape == (11, 11) and w.sum() == pytest.approx(1.0)
    assert w[5, 5] / w[5, 6] == pytest.approx(np.exp(1 / (2 * 1.5**2)))
    assert np.allclose(w, w.T) and np.allclose(w, w[::-1])


def test_ssim_of_identical_images_is_one_and_valid_borders():
    img = np.random.default_rng(0).random((30, 37)) * 255
    m = ssim_map(img, img)
    assert m.shape == (20, 27)  # 'valid': 11x11 windows fully inside
    assert np.allclose(m, 1.0)
    assert ssim(img, img) == pytest.approx(1.0)


def test_ssim_of_constant_images_by_hand():
    """sigma = 0 everywhere: SSIM = (2ab + C1) / (a^2 + b^2 + C1) * C2 / C2."""
    a, b = 100.0, 120.0
    expected = (2 * a * b + C1) / (a * a + b * b + C1)
    assert ssim(np.full((15, 15), a), np.full((15, 15), b)) == pytest.approx(expected, rel=1e-12)


def test_ssim_of_one_window_by_hand():
    """An 11x11 image is one window: weighted means, variances and covariance, written out."""
    rng = np.random.default_rng(3)
    x = rng.random((11, 11)) * 255
    y = 0.7 * x + rng.random((11, 11)) * 40
    w = gaussian_window()
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    expected = (2 * mx * my + C1) * (2 * cxy + C2) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    assert ssim_map(x, y).shape == (1, 1)
    assert ssim(x, y) == pytest.approx(expected, rel=1e-10)


def test_ssim_contrast_and_structure():
    img = np.random.default_rng(0).random((40, 40)) * 200 + 20
    assert ssim(img, img + 10) > 0.95  # a brightness shift costs little
    assert ssim(img, 255 - img) < 0  # inverted structure
    assert ssim(img, img) > ssim(img, img * 0.5 + 60) > ssim(img, 255 - img)


def test_sr_metrics_rgb_uses_y_only():
    rgb = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.float64)
    swapped = rgb.copy()
    # a change that keeps Y: move green, compensate with red
    swapped[..., 1] += 10.0
    swapped[..., 0] -= 10.0 * 128.553 / 65.481
    s = sr_metrics(swapped, rgb)
    assert s["psnr"] > 100 and s["ssim"] == pytest.approx(1.0)


def test_kernel_error_after_alignment():
    k = gaussian_kernel(13, 2.0, 1.0, angle=0.3)
    e = kernel_error(k, k)
    assert e["kernel_mse"] == pytest.approx(0, abs=1e-20) and e["kernel_max"] < 1e-12
    # a whole-pixel shift (and another size) is the same blur: no error once both are aligned
    shifted = np.zeros((15, 15))
    shifted[2:15, 1:14] = k
    assert kernel_error(shifted, k)["kernel_max"] < 1e-9
    # unnormalised is normalised
    assert kernel_error(3 * k, k)["kernel_max"] < 1e-12
    other = gaussian_kernel(13, 1.0, 2.0, angle=0.3)
    e = kernel_error(other, k)
    a, b = comparable_kernels(other, k)
    assert e["kernel_max"] == pytest.approx(np.abs(a - b).max())
    assert e["kernel_mse"] == pytest.approx(((a - b) ** 2).sum() / 13**2)
    assert e["kernel_max_rel"] == pytest.approx(e["kernel_max"] / b.max())
    with pytest.raises(ValueError):
        kernel_error(np.zeros((3, 3)), k)


def test_ssim_matches_scikit_image_gaussian_protocol():
    """An independent implementation: scikit-image with Wang et al.'s settings."""
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a = rng.random((48, 53)) * 255
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255)
    ref = metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim(a, b) == pytest.approx(ref, rel=1e-9)


def test_kernel_covariance_reads_a_gaussians_variances():
    """The second moments of an anisotropic Gaussian are its variances, along its rotated axes."""
    cov = kernel_covariance(gaussian_kernel(25, 2.0, 3.0))
    np.testing.assert_allclose(np.diag(cov), [2.0, 3.0], rtol=0.01)
    assert abs(cov[0, 1]) < 1e-6
    turned = kernel_covariance(gaussian_kernel(25, 2.0, 3.0, angle=0.7))
    np.testing.assert_allclose(np.linalg.eigvalsh(turned), [2.0, 3.0], rtol=0.01)
    assert abs(turned[0, 1]) > 0.3  # no longer aligned with the grid
