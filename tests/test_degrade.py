import numpy as np
import pytest

from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import add_noise, aligned_centre, compose_x4, degrade, kernel_is_aligned, random_kernel
from dualsr.paper.kernel import centre_of_mass
from dualsr.paper.resize import bicubic_resize_np


def _covariance(k: np.ndarray) -> np.ndarray:
    c = centre_of_mass(k)
    yy, xx = np.mgrid[0 : k.shape[0], 0 : k.shape[1]]
    d = np.stack([yy - c[0], xx - c[1]])
    return np.einsum("ixy,jxy,xy->ij", d, d, k)


def test_random_kernels_follow_div2krk():
    rng = np.random.default_rng(0)
    draws, eig = [], []
    for _ in range(200):
        k, draw = random_kernel(rng)
        assert k.shape == (13, 13)
        assert k.sum() == pytest.approx(1.0)
        assert k.min() >= 0
        assert np.allclose(centre_of_mass(k), [6.5, 6.5], atol=1e-8)  # LR pixel i at HR 2i + 0.5
        assert np.all(k[0] == 0) and np.all(k[:, 0] == 0)  # the 11-wide footprint moved by half a pixel
        draws.append(draw)
        eig.append(np.sort(np.linalg.eigvalsh(_covariance(k))))
    v = np.array([[d.var_1, d.var_2] for d in draws])
    angles = np.array([d.angle for d in draws])
    assert v.min() >= 0.6 and v.max() <= 5.0 and v.mean() == pytest.approx(2.8, abs=0.25)
    assert angles.min() >= 0 and angles.max() <= np.pi
    # the kernel's measured covariance is the drawn one, less a little from the truncation
    drawn = np.sort(v, axis=1)
    measured = np.array(eig)
    assert np.all(measured <= drawn * 1.1 + 0.05) and np.median(measured / drawn) > 0.85


def test_kernels_are_reproducible_and_differ_by_seed():
    a, _ = random_kernel(np.random.default_rng(3))
    b, _ = random_kernel(np.random.default_rng(3))
    c, _ = random_kernel(np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_kernel_noise_is_multiplicative_up_to_a_quarter():
    """Undo the Gaussian: what is left is the noise, within 1 +- 25 % (times the tilt)."""
    k, _ = random_kernel(np.random.default_rng(1))
    rng = np.random.default_rng(1)
    rng.uniform(size=3)  # the variances and angle
    noise = rng.uniform(0.75, 1.25, (13, 13))
    assert noise.min() >= 0.75 and noise.max() <= 1.25
    ratio = k[1:, 1:] / noise[1:, 1:]
    # ratio is a smooth Gaussian: its log is quadratic, so second differences are small and constant
    second = np.diff(np.log(ratio), 2, axis=0)
    assert np.ptp(second) < 1e-6


def test_degrade_with_an_aligned_random_kernel_keeps_the_grid():
    k, _ = random_kernel(np.random.default_rng(2))
    hr = np.tile(np.arange(96.0), (96, 1))
    lr = degrade(hr, k)
    i = np.arange(8, 40)
    assert np.allclose(lr[20, i], 2 * i + 0.5, atol=1e-9)
    assert np.allclose(bicubic_resize_np(lr, 2.0)[40, 16:80], hr[40, 16:80], atol=1e-9)


def test_x4_is_two_x2_steps_and_keeps_its_grid():
    k, _ = random_kernel(np.random.default_rng(5))
    k4 = compose_x4(k)
    assert k4.shape == (37, 37) and k4.sum() == pytest.approx(1.0)
    assert aligned_centre(37, 4) == 19.5 and kernel_is_aligned(k4, 4)
    hr = np.random.default_rng(0).random((128, 128))
    twice = degrade(degrade(hr, k), k)
    once = degrade(hr, k4, 4)
    assert once.shape == (32, 32)
    assert np.allclose(once[6:-6, 6:-6], twice[6:-6, 6:-6], atol=1e-12)
    ramp = np.tile(np.arange(192.0), (192, 1))
    i = np.arange(10, 38)
    assert np.allclose(degrade(ramp, k4, 4)[20, i], 4 * i + 1.5, atol=1e-9)  # LR i at HR 4i + 1.5
    k4r, _ = random_kernel(np.random.default_rng(5), scale=4)
    assert np.allclose(k4r, k4)


def test_degrade_rgb_and_shapes():
    k, _ = random_kernel(np.random.default_rng(0))
    rgb = np.random.default_rng(0).random((41, 50, 3))
    lr = degrade(rgb, k)
    assert lr.shape == (20, 25, 3)
    assert np.allclose(lr[..., 1], degrade(rgb[..., 1], k))
    with pytest.raises(DualSRInputError, match="pixels"):
        degrade(np.zeros((5, 5)), k)
    with pytest.raises(DualSRInputError, match="scale 3"):
        random_kernel(np.random.default_rng(0), scale=3)


def test_noise():
    rng = np.random.default_rng(0)
    flat = np.full((200, 200), 0.5)
    g = add_noise(flat, rng, gaussian=0.02)
    assert g.std() == pytest.approx(0.02, rel=0.05) and g.mean() == pytest.approx(0.5, abs=1e-3)
    p = add_noise(flat, rng, poisson_peak=400.0)  # 200 photons: relative sd 1/sqrt(200)
    assert p.std() == pytest.approx(np.sqrt(200) / 400, rel=0.05)
    assert np.array_equal(add_noise(flat, rng), flat)
    assert add_noise(np.ones((50, 50)), rng, gaussian=0.3).max() <= 1.0
    with pytest.raises(DualSRInputError, match="positive"):
        add_noise(flat, rng, poisson_peak=0)
