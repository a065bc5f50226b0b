"""The closed-form blind kernel estimate (dualsr.kernels.spectral) and its use in training."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import dualsr
from conftest import dead_leaves, textured
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import kernel_error
from dualsr.kernels.spectral import (
    clip_covariance,
    estimate_kernel,
    fit_noisy_ratios,
    fit_ratios,
    gaussian_from_covariance,
    kernel_size,
    power_spectrum,
)
from dualsr.paper.kernel import centre_of_mass, gaussian_kernel


def covariance_of(kernel: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]]
    c = centre_of_mass(kernel)
    d = np.stack([yy - c[0], xx - c[1]])
    return np.einsum("ixy,jxy,xy->ij", d, d, kernel / kernel.sum())


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return dead_leaves(384, seed=0)


def test_white_noise_has_a_flat_spectrum():
    noise = np.random.default_rng(0).normal(0, 1, (192, 192))
    spectrum = power_spectrum(noise)
    expected = (np.outer(np.hanning(48), np.hanning(48)) ** 2).sum()  # variance times the window's energy
    assert spectrum.shape == (48, 48) and abs(spectrum[1:, 1:].mean() / expected - 1) < 0.05


def test_the_fit_recovers_a_covariance_from_exact_ratios():
    """Ratios made by the model itself (with a tilted scene and outliers) give S back."""
    rng = np.random.default_rng(1)
    uy, ux = rng.uniform(-0.25, 0.25, (2, 400))
    s = np.array([[1.2, 0.5], [0.5, 3.0]])
    theta = np.arctan2(uy, ux)
    quadratic = s[0, 0] * uy**2 + 2 * s[0, 1] * uy * ux + s[1, 1] * ux**2
    ratios = -2.3 * np.log(2) + 0.2 * np.cos(2 * theta) - 3 * np.pi**2 * quadratic
    ratios[:20] += 5.0  # a few wild pairs (a texture peak): the robust fit ignores them
    fitted, alpha, residual = fit_ratios(uy, ux, ratios)
    assert np.allclose(fitted, s, atol=1e-6) and abs(alpha - 2.3) < 1e-6 and residual < 1e-6


def test_the_noise_aware_fit_recovers_a_covariance_with_pairs_buried_in_the_floor():
    """Expected spectra of a blurred power-law scene plus a white floor: the fit gives S back,
    though for most pairs P(2u) lies below the floor, which the log ratio has to cut."""
    rng = np.random.default_rng(2)
    uy, ux = rng.uniform(-0.25, 0.25, (2, 400))
    s = np.array([[1.2, 0.5], [0.5, 3.0]])
    theta = np.arctan2(uy, ux)
    quadratic = s[0, 0] * uy**2 + 2 * s[0, 1] * uy * ux + s[1, 1] * ux**2
    ratio = np.exp(-2.3 * np.log(2) + 0.2 * np.cos(2 * theta) - 3 * np.pi**2 * quadratic)
    low = 10.0 * np.hypot(uy, ux) ** -2.3  # the floor-subtracted P(u)
    floor = float(np.median(ratio * low))
    assert np.mean(ratio * low > floor) < 0.6  # many pairs with P(2u) - N below N
    fitted, alpha, _ = fit_noisy_ratios(uy, ux, low, ratio * low, floor)
    assert np.allclose(fitted, s, atol=1e-6) and abs(alpha - 2.3) < 1e-6


def test_on_a_noisy_photo_the_noise_aware_fit_finds_the_kernel_the_log_ratio_misses():
    """Shot noise (300 photons at full scale) on a photo with a steep spectrum: cutting on the
    noisy P(2u) biases the plain fit far off; the noise-aware fit lands within 20 % of the peak."""
    from skimage import data

    from dualsr.evaluation.degrade import add_noise

    truth = gaussian_kernel(13, 1.6, 4.0, 1.2)
    lr = degrade(data.coins().astype(np.float64) / 255, truth, 2)
    noisy = add_noise(lr, np.random.default_rng(0), poisson_peak=300).astype(np.float32)[None]
    plain, aware = estimate_kernel(noisy), estimate_kernel(noisy, noisy=True)
    assert kernel_error(plain.kernel, truth)["kernel_max_rel"] > 0.5
    assert kernel_error(aware.kernel, truth)["kernel_max_rel"] < 0.2
    assert np.allclose(np.linalg.eigvalsh(aware.covariance), [1.6, 4.0], rtol=0.35) and aware.settled


def test_kernels_from_covariances_are_aligned_and_big_enough():
    for variances in [(0.2, 0.2), (1.5, 4.0), (9.0, 20.0)]:
        cov = clip_covariance(np.diag(variances), 0.2, 20.0)
        k = gaussian_from_covariance(cov)
        n = k.shape[0]
        assert n % 4 == 1 and n >= 13 and n >= 6 * np.sqrt(variances[1])
        assert np.allclose(centre_of_mass(k), n // 2 + 0.5) and np.isclose(k.sum(), 1.0)
    assert np.allclose(
        covariance_of(gaussian_from_covariance(np.array([[2.0, 0.8], [0.8, 3.0]]))), [[2, 0.8], [0.8, 3]], atol=0.02
    )
    assert kernel_size(np.diag([0.5, 1.0])) == 13
    assert np.allclose(np.linalg.eigvalsh(clip_covariance(np.diag([-1.0, 50.0]), 0.2, 20.0)), [0.2, 20.0])


@pytest.mark.parametrize("variances, angle", [((1.6, 4.0), 1.2), ((0.8, 2.0), 0.3), ((3.0, 3.5), 2.0)])
def test_a_known_anisotropic_kernel_is_recovered_without_training(scene, variances, angle):
    """The stated accuracy: on a scale-invariant scene the closed form (0 training steps)
    lands within 25 % of the true kernel's peak and 35 % of its variances, and says it settled."""
    truth = gaussian_kernel(13, *variances, angle)
    estimate = estimate_kernel(degrade(scene, truth, 2)[None])
    assert kernel_error(estimate.kernel, truth)["kernel_max_rel"] < 0.25
    assert np.allclose(np.linalg.eigvalsh(estimate.covariance), sorted(variances), rtol=0.35)
    assert estimate.settled and estimate.problems == ()


def test_rgb_and_grey_read_the_same_kernel(scene):
    truth = gaussian_kernel(13, 1.6, 4.0, 1.2)
    lr = degrade(scene, truth, 2)
    grey = estimate_kernel(lr)  # (H, W) is accepted too
    rgb = estimate_kernel(np.stack([lr, lr, lr]))
    assert np.allclose(grey.kernel, rgb.kernel)


@pytest.mark.parametrize(
    "image, problem",
    [
        (np.full((160, 160), 0.5), "frequencies above the noise floor"),  # nothing to measure
        (textured((192, 200)), "does not follow a natural image's"),  # sinusoids and flat blocks
    ],
)
def test_a_case_built_to_fail_is_not_settled(image, problem):
    estimate = estimate_kernel(image[None])
    assert not estimate.settled and any(problem in p for p in estimate.problems)
    assert np.isclose(estimate.kernel.sum(), 1.0)  # still a usable, conservative kernel


def _crisp_across_x(scene: np.ndarray) -> np.ndarray:
    """The scene with its edges across X sharpened: an anisotropy of the scene, not of any blur."""
    return scene + (scene - ndimage.gaussian_filter1d(scene, 1.0, axis=1))


def test_an_axis_narrower_than_any_acquisition_is_not_settled(scene):
    """A scene whose own edges are crisper across X than a scale-free scene's (the soft-optics moon's case):
    the fit asks for a negative variance there, is clipped to the floor, and says why instead of settling
    on an elongated kernel that is the scene's anisotropy (docs/blind_kernel.md, *How far to trust it*)."""
    estimate = estimate_kernel(ndimage.gaussian_filter(_crisp_across_x(scene), (1.2, 0))[::2, ::2][None])
    assert np.isclose(np.linalg.eigvalsh(estimate.covariance)[0], 0.2)
    assert not estimate.settled and any("narrower than any acquisition's kernel" in p for p in estimate.problems)


def test_a_run_on_such_a_scene_says_so_and_names_the_camera(scene):
    """``auto`` still removes the blur (no energy near Nyquist, too elongated for a lens), but the result is
    not settled, its verdict says *kernel uncertain*, and the warning names the fix for a camera's image."""
    lr = ndimage.gaussian_filter(_crisp_across_x(scene), (1.5, 0.6))[::2, ::2].astype(np.float32)
    result = dualsr.train(lr, preset_name="fast", iterations=2, seed=0)
    assert result.acquisition[0].model == "gaussian-blur" and result.kernel_state == "not settled"
    assert "narrower than any acquisition's kernel" in result.kernel_warning
    assert "acquisition 'camera'" in result.kernel_warning and "kernel uncertain" in result.verdict
    assert "did not settle" in result.acquisition[0].reason and "not a lens's" not in result.acquisition[0].reason


def test_halves_that_disagree_are_not_settled(scene):
    """Left half blurred little, right half a lot: no one kernel fits, and the report says so."""
    narrow, wide = gaussian_kernel(13, 0.5, 0.5), gaussian_kernel(13, 4.5, 4.5)
    lr = np.concatenate([degrade(scene[:, :192], narrow, 2), degrade(scene[:, 192:], wide, 2)], axis=1)
    estimate = estimate_kernel(lr[None])
    assert estimate.spread > 0.4 and any("two halves" in p for p in estimate.problems)


def test_the_fast_preset_holds_the_spectral_kernel_fixed(scene):
    """No G_DN, no D_DN: the estimate is the kernel the cycles use, reported with its trust."""
    from dualsr import train
    from dualsr.config import preset
    from dualsr.kernels.convergence import SETTLED

    truth = gaussian_kernel(13, 1.6, 4.0, 1.2)
    lr = degrade(scene, truth, 2).astype(np.float32)
    seen = []
    result = train(lr, config=preset("fast", iterations=10), progress=seen.append)
    assert result.config.kernel_estimator == "spectral" and not result.known_kernel
    assert np.allclose(result.kernel, estimate_kernel(lr[None]).kernel, atol=1e-6)  # (on the normalised image)
    assert kernel_error(result.kernel, truth)["kernel_max_rel"] < 0.25
    assert result.kernel_state == SETTLED and not result.kernel_warning
    assert result.summary()["kernel_estimate"][0]["problems"] == []
    assert all(s.kernel_state == SETTLED for s in seen)
    assert not np.any(result.history[0]["gan"]) and not np.any(result.history[0]["discriminator"])


@pytest.mark.parametrize("noise_kernel", ["noisy", "clean_copy"])
def test_the_noise_model_reads_the_kernel_where_the_config_says(scene, noise_kernel):
    """With the noise model on, the spectral kernel comes from the noisy image by the
    noise-aware fit (the default) or from the denoised copy (``noise_kernel="clean_copy"``)."""
    from dualsr import train
    from dualsr.config import preset
    from dualsr.evaluation.degrade import add_noise
    from dualsr.noise.model import clean_copy

    lr = add_noise(degrade(scene, gaussian_kernel(13, 1.6, 4.0, 1.2), 2), np.random.default_rng(0), poisson_peak=300)
    lr = lr.astype(np.float32)
    # blur asked: the test is where the estimate comes from, not auto's decision (the denoised copy's blur
    # reads somewhat elongated, which auto takes for a camera's optics)
    config = preset("fast", iterations=2, noise="on", noise_kernel=noise_kernel, acquisition="gaussian-blur")
    result = train(lr, config=config)
    norm = result.normalization
    if noise_kernel == "noisy":
        expected = estimate_kernel(norm.apply(lr[None]), noisy=True)
    else:
        expected = estimate_kernel(norm.apply(clean_copy(lr[None], result.noise.estimate)))
    assert result.noise.active and np.allclose(result.kernel, expected.kernel, atol=1e-6)
    assert result.summary()["config"]["noise_kernel"] == noise_kernel


def test_an_unknown_noise_kernel_is_one_line():
    from dualsr.config import preset
    from dualsr.errors import DualSRInputError

    with pytest.raises(DualSRInputError, match="noise kernel 'denoised' is unknown; use one of noisy, clean_copy"):
        preset("fast", noise_kernel="denoised")


def test_the_cli_warns_in_one_line_when_the_estimate_is_uncertain(tmp_path, capsys):
    from conftest import run_cli

    src, out = str(tmp_path / "in.npy"), str(tmp_path / "out.npy")
    np.save(src, textured((192, 200)).astype(np.float32))
    argv = ["train", src, "-o", out, "--preset", "fast", "--iterations", "2", "--acquisition", "gaussian-blur"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and np.load(out).shape == (384, 400)
    warning = [line for line in err.splitlines() if "kernel" in line]
    # one line, both reasons: the texture holds energy up to Nyquist (a camera's), and the estimate did not settle
    assert len(warning) == 1 and warning[0].startswith("dualsr: warning: acquisition 'gaussian-blur' was asked, but")
    assert "; the blind kernel estimate is uncertain: " in warning[0]


def test_planes_of_a_stack_pool_their_spectra(scene):
    """Two planes with the same blur read one kernel, as good as one plane's, and agree with it."""
    truth = gaussian_kernel(13, 1.6, 4.0, 1.2)
    planes = np.stack([degrade(scene, truth, 2), degrade(scene.T.copy(), truth, 2)])[:, None]  # (P, C, H, W)
    pooled = estimate_kernel(planes)
    assert kernel_error(pooled.kernel, truth)["kernel_max_rel"] < 0.25 and pooled.settled
