"""Real acquisitions (issue 26): the camera's x2 kernel, what files say about the instrument, the
``auto`` decision between a camera and a blur, and the guard against over-sharpening."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from scipy import ndimage

import dualsr
from conftest import dead_leaves, halves_blurred, power_law_field, run_cli
from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.scenes import OPTICS, microscope_pair, record
from dualsr.evaluation.sets import degrade_image
from dualsr.io.acquisition import Instrument
from dualsr.io.axes import Layout
from dualsr.io.files import read_image
from dualsr.kernels.acquisition import axes_ratio, decide
from dualsr.kernels.camera import camera_kernel, kernel_covariance
from dualsr.kernels.spectral import SpectralEstimate, estimate_kernel, gaussian_from_covariance, nyquist_energy
from dualsr.paper.kernel import centre_of_mass
from dualsr.trust.doubt import doubt_map

FAST = dict(iterations=3, hr_crop=64, lr_crop=32, up_features=16)


def binned(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def test_the_camera_kernel_is_the_aligned_2x2_box():
    k = camera_kernel()
    assert k.shape == (13, 13) and np.isclose(k.sum(), 1) and np.count_nonzero(k) == 4
    assert np.allclose(centre_of_mass(k), [6.5, 6.5]) and np.allclose(kernel_covariance(k), 0.25 * np.eye(2))
    wider = camera_kernel(residual=0.5)  # a sensor with crosstalk: the box convolved with a Gaussian
    assert np.allclose(centre_of_mass(wider), [6.5, 6.5]) and np.allclose(
        kernel_covariance(wider), 0.75 * np.eye(2), atol=0.01
    )
    hr = np.random.default_rng(0).random((40, 40))
    assert np.allclose(degrade(hr, k), binned(hr))  # the kernel *is* 2x2 binning


def test_a_camera_set_bins_and_microscope_scenes_are_two_real_cameras():
    hr = (dead_leaves(96) * 255).astype(np.uint8)
    _, lr, kernel, info = degrade_image(hr, "leaves", acquisition="camera")
    assert info["acquisition"] == "camera" and np.array_equal(kernel, camera_kernel())
    assert np.abs(lr.astype(float) - binned(hr.astype(float))).max() <= 0.5  # rounded to uint8
    with pytest.raises(DualSRInputError, match="acquisition"):
        degrade_image(hr, "leaves", acquisition="phone")
    hr, lr = microscope_pair("cells", 64, optics=OPTICS["na1.2"])
    assert lr.shape == (32, 32) and np.allclose(lr, binned(hr))  # full fill factor, no crosstalk: binning exactly
    optical = np.random.default_rng(1).random((64, 64))
    assert not np.allclose(record(optical, 8, fill_factor=0.5), record(optical, 8))  # a smaller aperture differs


def _ome(pixels: str = "", extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        f'{extra}<Image ID="Image:0"><ObjectiveSettings ID="Objective:0"/><Pixels ID="Pixels:0" '
        f'DimensionOrder="XYZCT" Type="uint16" SizeX="64" SizeY="64" SizeZ="1" SizeC="1" SizeT="1" {pixels}>'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1" EmissionWavelength="0.52" EmissionWavelengthUnit="&#181;m"/>'
        "<TiffData/></Pixels></Image></OME>"
    )


def test_pixel_size_and_optics_are_read_from_ome_and_imagej_tiffs(tmp_path):
    data = np.zeros((64, 64), np.uint16)
    objective = (
        '<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="1.2" Immersion="Water"/></Instrument>'
    )
    pixels = 'PhysicalSizeX="160" PhysicalSizeXUnit="nm" PhysicalSizeY="160" PhysicalSizeYUnit="nm"'
    tifffile.imwrite(tmp_path / "a.ome.tif", data, description=_ome(pixels, objective), metadata=None)
    ome = read_image(tmp_path / "a.ome.tif").instrument
    assert (ome.pixel_size, ome.numerical_aperture, ome.wavelength, ome.immersion_index) == (0.16, 1.2, 520.0, 1.333)
    assert ome.source == "OME" and ome.sampling == pytest.approx(0.16 / (0.52 / 4.8))  # pixel / (lambda / 4 NA)
    assert "under-sampled" in ome.describe()
    info = "Objective: Plan-Apo\nNA = 1.4\nEmissionWavelength = 600\n"
    tifffile.imwrite(
        tmp_path / "b.tif", data, imagej=True, resolution=(1 / 0.065, 1 / 0.065), metadata={"unit": "um", "Info": info}
    )
    ij = read_image(tmp_path / "b.tif").instrument
    assert (ij.pixel_size, ij.numerical_aperture, ij.wavelength, ij.source) == (
        pytest.approx(0.065),
        1.4,
        600.0,
        "ImageJ",
    )
    assert "Nyquist-sampled" in ij.describe()
    tifffile.imwrite(tmp_path / "c.tif", data, resolution=(72, 72))  # 72 dpi: not a length in the sample
    assert read_image(tmp_path / "c.tif").instrument is None
    assert ij.merged(Instrument(numerical_aperture=1.3)).numerical_aperture == 1.3  # given values win


def test_bad_optics_are_one_line(tmp_path, capsys):
    with pytest.raises(DualSRInputError, match="numerical aperture 2.5"):
        Instrument(numerical_aperture=2.5)
    with pytest.raises(DualSRInputError, match="cannot exceed the immersion index"):
        Instrument(numerical_aperture=1.4, immersion_index=1.0)
    src = tmp_path / "in.npy"
    np.save(src, dead_leaves(160).astype(np.float32))
    code, _, err = run_cli(["train", src, "-o", tmp_path / "out.npy", "--na", "2.5"], capsys)
    assert code == 2 and err.count("\n") == 1 and "numerical aperture" in err and not (tmp_path / "out.npy").exists()


def _decision(lr: np.ndarray):
    return decide("auto", estimate_kernel(lr), None, nyquist_energy(lr))


def test_auto_picks_camera_for_a_binned_scene_and_blur_for_a_gaussian_blurred_one():
    scene = dead_leaves(512, seed=3)
    camera = _decision(binned(scene))
    assert camera.model == "camera" and "Nyquist" in camera.reason
    blur = gaussian_from_covariance(np.array([[3.5, 1.2], [1.2, 1.2]]), 13)
    blurred = _decision(degrade(scene, blur))
    assert blurred.model == "gaussian-blur" and not blurred.fell_back and "removed" in blurred.reason
    assert decide("camera", None).model == "camera" and decide("gaussian-blur", None).model == "gaussian-blur"
    optics = Instrument(0.16, 1.2, 520.0)
    assert decide("auto", estimate_kernel(degrade(scene, blur)), optics).model == "camera"  # known optics: a camera


def test_the_guard_fires_on_a_smooth_scene_and_on_a_wide_estimate_it_cannot_trust():
    hr, lr = microscope_pair("cells", 384, optics=OPTICS["na0.8"])  # smooth: the blind estimate reads the optics
    estimate = estimate_kernel(lr)
    assert np.linalg.eigvalsh(estimate.covariance).mean() > 3  # what used to be deconvolved
    guarded = _decision(lr)
    assert guarded.model == "camera" and "round blur" in guarded.reason
    wide = SpectralEstimate(np.diag([4.0, 6.0]), camera_kernel(), 3.8, 0.4, 200, 0.7, ("halves differ",))
    fallback = decide("auto", wide, None, -2.5)
    assert fallback.model == "camera" and fallback.fell_back and "cannot be trusted" in fallback.reason


def test_a_camera_of_a_softly_focused_scene_is_not_deblurred():
    """A lens blurs round: a camera's image of a natural scene through soft optics (no energy near Nyquist, a
    photograph's slope) used to read as a digital blur and be deconvolved, up to 13 dB below bicubic."""
    for seed in (0, 1):
        lr = binned(ndimage.gaussian_filter(power_law_field(512, 2.8, seed), 1.5))  # optics, then the pixels
        estimate = estimate_kernel(lr)
        assert estimate.alpha > 2.4 and nyquist_energy(lr) < -1.65  # neither band-limited nor aliased
        decision = _decision(lr)
        assert decision.model == "camera" and "lenses and objectives blur round" in decision.reason
        assert "'gaussian-blur'" in decision.reason  # the way back, for a digitally blurred image


def _estimate(variances: list[float], halves: tuple[list[float], ...] = ()) -> SpectralEstimate:
    """A settled estimate of a natural photograph (slope 2.8) with these kernel variances (HR px^2), and its
    halves' (the whole image's where not given)."""
    halves_ = tuple(np.diag(h) for h in halves) or (np.diag(variances),) * 2
    return SpectralEstimate(np.diag(variances), camera_kernel(), 2.8, 0.3, 300, 0.05, (), halves_)


def test_a_blur_between_round_and_elongated_is_taken_for_optics_and_said_ambiguous():
    """Between 1.3:1 and 2:1 a blur is a camera's optics as often as a digital blur: the camera's answer, which
    never falls below bicubic, with the doubt said and the way back named."""
    either = decide("auto", _estimate([2.0, 3.2]), None, -2.8)  # axes 1.6:1
    assert either.model == "camera" and either.ambiguous and either.in_doubt and not either.fell_back
    assert either.to_dict()["ambiguous"] and "could be blurred digitally" in either.reason
    assert "'gaussian-blur'" in either.reason
    elongated = decide("auto", _estimate([0.6, 4.0]), None, -2.8)  # 6.7:1: no lens blurs like that
    assert elongated.model == "gaussian-blur" and not elongated.in_doubt and "ambiguous" not in elongated.to_dict()
    round_ = decide("auto", _estimate([2.0, 2.4]), None, -2.8)  # 1.2:1: optics, without a doubt
    assert round_.model == "camera" and not round_.ambiguous
    pixels = Instrument(pixel_size=0.1)  # a microscope's file or layer, its optics not given
    recorded = decide("auto", _estimate([2.0, 3.2]), pixels, -2.8)
    assert recorded.model == "camera" and not recorded.ambiguous  # a recording's optics: no doubt left
    assert "physical pixel size (0.1 um)" in recorded.reason
    assert decide("auto", _estimate([0.6, 4.0]), pixels, -2.8).model == "gaussian-blur"  # too elongated for optics
    lr = degrade(power_law_field(384, 2.8, 2), gaussian_from_covariance(np.diag([2.0, 3.4]), 13)).astype(np.float32)
    result = dualsr.train(lr, config=dualsr.preset("fast", **FAST))
    assert result.acquisition[0].ambiguous and result.summary()["acquisition"]["ambiguous"]
    assert np.allclose(result.kernel, camera_kernel())  # pixel integration: never over-sharpened
    assert result.kernel_state == "not settled" and "kernel uncertain" in result.verdict
    assert "acquisition 'gaussian-blur'" in result.kernel_warning and "under-sharpened" in result.kernel_warning


def test_train_reports_the_decision_and_the_instrument():
    lr = binned(dead_leaves(400, seed=1)).astype(np.float32)
    result = dualsr.train(lr, config=dualsr.preset("fast", **FAST))
    summary = result.summary()
    assert summary["acquisition"]["model"] == "camera" and summary["config"]["acquisition"] == "auto"
    assert np.array_equal(result.kernel, camera_kernel()) and result.kernel_state == "settled"
    _, lr = microscope_pair("cells", 384, optics=OPTICS["na0.8"])
    optics = Instrument(0.2, 0.8, 600.0, 1.0)
    known = dualsr.train(lr.astype(np.float32), config=dualsr.preset("fast", **FAST), instrument=optics).summary()
    assert known["acquisition"]["model"] == "camera" and "microscope acquisition" in known["acquisition"]["reason"]
    assert known["instrument"]["sampling"] == pytest.approx(0.2 / (0.6 / 3.2), rel=1e-3)
    blur = dualsr.preset("fast", acquisition="gaussian-blur", **FAST)
    blurred = dualsr.train(lr.astype(np.float32), config=blur, doubt=True)
    assert blurred.summary()["acquisition"]["model"] == "gaussian-blur"  # asked: the estimate, as before
    assert not np.array_equal(blurred.kernel, camera_kernel())
    # ... but the smooth scene reads as a camera's: the state is not settled and the warning says why
    assert blurred.summary()["acquisition"]["contradicted"] and blurred.kernel_state == "not settled"
    assert "reads as a camera" in blurred.kernel_warning and "over-sharpened" in blurred.kernel_warning
    # and its doubt map carries the kernel-hypothesis term (the x2's departure from bicubic)
    layout = Layout.of(lr.shape, "YX")
    args = (blurred.upsampler, blurred.kernel, lr.astype(np.float32), layout, blurred.normalization, None)
    np.testing.assert_allclose(blurred.doubt, doubt_map(*args, kernel_in_doubt=True), atol=1e-5)
    assert blurred.doubt.mean() > doubt_map(*args).mean()


def test_blur_asked_for_an_image_that_reads_as_a_camera_is_said_so():
    scene = dead_leaves(512, seed=3)
    lr = binned(scene)  # energy up to Nyquist: a camera's
    asked = decide("gaussian-blur", estimate_kernel(lr), None, nyquist_energy(lr))
    assert asked.model == "gaussian-blur" and asked.contradicted and "Nyquist" in asked.reason
    assert asked.to_dict()["contradicted"] and "over-sharpened" in asked.reason
    blurred = degrade(scene, gaussian_from_covariance(np.array([[3.5, 1.2], [1.2, 1.2]]), 13))
    plain = decide("gaussian-blur", estimate_kernel(blurred), None, nyquist_energy(blurred))
    assert not plain.contradicted and "contradicted" not in plain.to_dict()
    assert not decide("gaussian-blur", None).contradicted  # nothing measured: nothing to contradict
    assert decide("gaussian-blur", None, Instrument(0.16, 1.2, 520.0)).contradicted  # known optics: a camera


def test_a_flat_image_does_not_read_as_a_camera():
    """No energy anywhere is not energy up to Nyquist: before, 0 / 0 read as a camera's (0.00), and blur
    asked for a blank image was said to contradict it."""
    from dualsr.kernels.spectral import FLAT_NYQUIST

    flat = np.full((96, 96), 0.4)
    nyquist = nyquist_energy(flat)
    assert nyquist == FLAT_NYQUIST
    estimate = estimate_kernel(flat)
    assert "energy up to its Nyquist" not in decide("auto", estimate, nyquist=nyquist).reason
    assert not decide("gaussian-blur", estimate, nyquist=nyquist).contradicted


def test_a_blur_whose_halves_read_different_acquisitions_is_said_split():
    """An elongated blur is removed; where one half of the image reads a blur round enough for optics, the decision
    hangs on where it was made: the x2 keeps the blur's answer (DIV2KRK-style images keep their deblurring), and the
    result says it may be over-sharpened if the image is a camera's (soft0.7's retina, -5.72 dB, was silent)."""
    split = decide("auto", _estimate([1.0, 2.2], ([1.0, 2.6], [1.2, 2.2])), None, -2.8)  # whole 2.2:1, a half 1.8:1
    assert split.model == "gaussian-blur" and split.split and split.in_doubt and split.to_dict()["split"]
    assert "one half of the image" in split.reason and "acquisition 'camera'" in split.reason
    assert split.evidence["halves_axes"] == [2.6, 1.833]
    both = decide("auto", _estimate([1.0, 2.2], ([1.0, 2.6], [1.0, 2.1])), None, -2.8)  # both halves elongated
    assert both.model == "gaussian-blur" and not both.in_doubt and "split" not in both.to_dict()
    unmeasured = SpectralEstimate(np.diag([1.0, 2.2]), camera_kernel(), 2.8, 0.3, 300, 0.05)  # halves too small
    assert not decide("auto", unmeasured, None, -2.8).split  # to be fitted: nothing to check
    either = decide("auto", _estimate([2.0, 3.2], ([2.0, 2.2], [1.0, 3.2])), None, -2.8)  # the whole in the zone
    assert either.model == "camera" and either.ambiguous and not either.split  # the camera's answer, as before
    lr = halves_blurred(seed=0)
    estimate = estimate_kernel(lr)
    assert axes_ratio(estimate.covariance) > 3 and min(map(axes_ratio, estimate.halves)) < 2 and estimate.settled
    result = dualsr.train(lr, config=dualsr.preset("fast", **FAST))
    assert result.acquisition[0].split and result.summary()["acquisition"]["split"]
    assert np.allclose(result.kernel, estimate.kernel)  # the blur's answer, as without the check
    assert result.kernel_state == "not settled" and result.trained_state == "settled"
    assert "kernel uncertain" in result.verdict and result.kernel_in_doubt  # the doubt map weighs the hypotheses
    assert "halves disagree" in result.kernel_warning and "acquisition 'camera'" in result.kernel_warning
    assert "still changing" not in result.kernel_warning  # the estimate itself settled
