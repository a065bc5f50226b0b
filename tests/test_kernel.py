import numpy as np
import pytest

from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import degrade
from dualsr.paper.kernel import (
    aligned_centre,
    centre_of_mass,
    final_kernel,
    fourier_shift,
    gaussian_kernel,
    keep_largest,
    prepare_known_kernel,
)
from dualsr.paper.resize import bicubic_resize_np


def test_gaussian_kernel_is_aligned_and_normalised():
    k = gaussian_kernel(13, 3.0, 1.0, angle=0.4)
    assert k.sum() == pytest.approx(1.0)
    assert np.allclose(centre_of_mass(k), [6.5, 6.5], atol=1e-3)
    assert aligned_centre(13) == 6.5


def test_alignment_lr_pixel_i_sits_at_hr_2i_plus_half():
    """Degrading a linear ramp with an aligned kernel gives the ramp's value at 2i + 0.5."""
    hr = np.tile(np.arange(80.0), (80, 1))
    lr = degrade(hr, gaussian_kernel(13, 2.0, 2.0))
    i = np.arange(10, 30)
    assert np.allclose(lr[20, i], 2 * i + 0.5, atol=1e-6)
    # ... and bicubic x2 of that LR lands back on the HR grid (no half-pixel slip)
    up = bicubic_resize_np(lr, 2.0)
    assert np.allclose(up[40, 20:60], hr[40, 20:60], atol=1e-6)


def test_fourier_shift_round_trip_and_integer_shift():
    k = gaussian_kernel(13, 3.0, 2.5, centre=6.0)  # smooth enough to be band-limited
    back = fourier_shift(fourier_shift(k, np.array([0.5, -0.3])), np.array([-0.5, 0.3]))
    assert np.allclose(back, k, atol=1e-3 * k.max())  # truncation at the border
    rolled = fourier_shift(k, np.array([1.0, 0.0]))
    assert np.allclose(rolled[1:], k[:-1], atol=1e-10)


def test_final_kernel_sums_to_one_and_is_aligned():
    rng = np.random.default_rng(0)
    raw = gaussian_kernel(13, 2.0, 1.0, centre=6.0) * 1.3 + rng.normal(0, 1e-4, (13, 13))
    k = final_kernel(raw, keep_top=40)
    assert k.sum() == pytest.approx(1.0)
    assert np.allclose(centre_of_mass(k), [6.5, 6.5], atol=1e-4)
    assert np.count_nonzero(keep_largest(raw, 40)) == 40


def test_known_kernel_is_padded_to_a_size_on_the_lr_grid():
    psf = gaussian_kernel(11, 1.0, 1.0, centre=5.0)
    k = prepare_known_kernel(psf)
    assert k.shape == (13, 13) and k.shape[0] % 4 == 1
    assert k.sum() == pytest.approx(1.0)
    assert np.allclose(centre_of_mass(k), [6.5, 6.5], atol=1e-4)
    big = prepare_known_kernel(np.ones((15, 15)))
    assert big.shape == (17, 17)
    already = gaussian_kernel(13, 2.0, 1.0)
    assert prepare_known_kernel(already).shape == (17, 17)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.ones((3, 3, 3)), "2D"),
        (np.full((5, 5), np.nan), "NaN"),
        (-np.ones((5, 5)), "positive"),
        (np.ones((70, 70)), "63x63"),
    ],
)
def test_known_kernel_errors(bad, words):
    with pytest.raises(DualSRInputError, match=words):
        prepare_known_kernel(bad)
