"""dualsr.isotropic's parts: the slice geometry, the profile and its blind estimate, fusion, the
network's alignment, the ONNX export and block-wise application (tiny sizes, few steps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

import dualsr
from dualsr.errors import DualSRInputError
from dualsr.isotropic.apply import FUSIONS, fuse, upsample_slices
from dualsr.isotropic.degrade import degrade_axis, slice_centre
from dualsr.isotropic.estimate import OVERLAP_RATIO, _slab_matrix, estimate_profile
from dualsr.isotropic.interpolate import bspline_axis
from dualsr.isotropic.network import AxisUpsampler, cubic_rows
from dualsr.isotropic.profile import SHAPE_POWER, from_samples, named
from dualsr.isotropic.train import TrainSettings
from dualsr.isotropic.volume import apply_both, check_voxel_size

TINY = TrainSettings(steps=3, batch=2, patch=16, layers=3, features=8)


@pytest.mark.parametrize("shape", ["gaussian", "rect"])
@pytest.mark.parametrize("fwhm", [1.3, 4.0, 7.5])
def test_named_profiles_have_their_fwhm_and_unit_area(shape, fwhm):
    p = named(shape, fwhm)
    assert p.fwhm == pytest.approx(fwhm, rel=0.02)
    first, w = p.weights(3.37)
    assert w.sum() == pytest.approx(1.0)
    assert first - 0.5 <= 3.37 - fwhm / 2 and first + len(w) - 0.5 >= 3.37 + fwhm / 2  # pixel edges


@pytest.mark.parametrize("factor", [2.0, 3.0, 5.5])
def test_slices_sit_at_the_centre_of_the_planes_they_cover(factor):
    """A linear ramp along Z is acquired exactly at the slice centres i*f + (f-1)/2 (away from the ends)."""
    ramp = np.broadcast_to(np.arange(60.0)[:, None, None], (60, 3, 3))
    lr = degrade_axis(ramp, 0, factor, named("gaussian", factor))  # smooth: its pixel bins keep its mean
    inside = slice(2, lr.shape[0] - 2)
    expected = slice_centre(np.arange(lr.shape[0]), factor)
    np.testing.assert_allclose(lr[inside, 0, 0], expected[inside], atol=1e-6)


@pytest.mark.parametrize("factor", [2.0, 2.5, 4.0])
def test_cubic_rows_and_bspline_put_slice_i_at_plane_i_f_plus_half(factor):
    """Both interpolations reproduce a ramp: output plane j equals (j - (f-1)/2) / f in slice units."""
    n = 12
    x = torch.arange(n, dtype=torch.float32)[None, None, :, None].repeat(1, 1, 1, 5)
    up = cubic_rows(x, factor)[0, 0, :, 0].numpy()
    j = np.arange(len(up))
    expected = (j - (factor - 1) / 2) / factor
    inside = slice(int(2 * factor), len(up) - int(2 * factor))
    err = up[inside] - expected[inside]
    assert abs(err.mean()) < 1e-4  # no shift; torch's cubic (a = -0.75) bends a ramp a little, symmetrically
    assert np.abs(err).max() < 0.05
    n = 60  # the spline's prefilter reaches far: a long ramp, checked well inside
    bs = bspline_axis(np.arange(float(n))[:, None, None], factor)[:, 0, 0]
    j = np.arange(len(bs))
    inside = slice(int(12 * factor), len(bs) - int(12 * factor))
    np.testing.assert_allclose(bs[inside], ((j - (factor - 1) / 2) / factor)[inside], atol=1e-6)


def test_the_blind_profile_is_found_on_an_isotropic_texture():
    rng = np.random.default_rng(1)
    truth = ndimage.gaussian_filter(rng.standard_normal((72, 56, 56)), 1.0)
    for shape, fwhm, factor in (("gaussian", 4.5, 3.0), ("gaussian", 6.0, 4.0)):
        lr = degrade_axis(truth, 0, factor, named(shape, fwhm))
        est = estimate_profile(lr.astype(np.float32), factor)
        assert est.profile.fwhm == pytest.approx(fwhm, rel=0.2), (shape, fwhm, est.summary())


def test_the_shape_is_said_unseen_where_both_shapes_fit_and_given_it_only_the_width_is_fitted():
    """A rectangle as wide as the step and a narrower Gaussian fit alike: both widths are kept and the
    shape is said unseen; a Gaussian 1.5 steps wide is told apart; a given shape fits only the width."""
    rng = np.random.default_rng(1)
    truth = ndimage.gaussian_filter(rng.standard_normal((72, 56, 56)), 1.0)
    lr = degrade_axis(truth, 0, 3.0, named("rect", 3.0)).astype(np.float32)
    est = estimate_profile(lr, 3.0)
    assert not est.shape_seen and set(est.alternatives) == {"gaussian", "rect"}
    assert est.alternatives["rect"][0] == pytest.approx(3.0, rel=0.2)
    assert est.alternatives["gaussian"][0] < 0.85 * est.alternatives["rect"][0]
    note = est.shape_note(0.5, "um")
    assert "gaussian of FWHM" in note and "rect of FWHM" in note and "--shape" in note and "\n" not in note
    summary = est.summary()
    assert summary["shape_seen"] is False and summary["alternatives"]["rect"]["fwhm_pixels"] > 0
    given = estimate_profile(lr, 3.0, powers=(SHAPE_POWER["rect"],))
    assert given.shape_given and given.shape_seen and given.shape_note() is None
    assert given.profile.shape == "rect" and given.profile.fwhm == pytest.approx(3.0, rel=0.2)
    assert "alternatives" not in given.summary()
    wide = estimate_profile(degrade_axis(truth, 0, 3.0, named("gaussian", 4.5)).astype(np.float32), 3.0)
    assert wide.shape_seen and wide.profile.shape == "gaussian" and wide.shape_note() is None


def test_a_width_cut_off_by_the_search_is_said_with_what_it_means():
    """Planes softer than Z (in-plane blur): the fit runs to the narrowest width tried; Z blurrier than the
    planes (an axial PSF): to the widest; an isotropic texture stays inside, with no note."""
    rng = np.random.default_rng(1)
    truth = ndimage.gaussian_filter(rng.standard_normal((72, 56, 56)), 1.0)
    acquire = lambda v: degrade_axis(v, 0, 3.0, named("gaussian", 1.8)).astype(np.float32)  # noqa: E731
    narrow = estimate_profile(acquire(ndimage.gaussian_filter(truth, (0, 1, 1))), 3.0)
    assert narrow.at_edge == "narrow" and narrow.summary()["at_edge"] == "narrow"
    assert "narrowest width tried" in narrow.edge_note() and "too little" in narrow.edge_note()
    wide = estimate_profile(acquire(ndimage.gaussian_filter1d(truth, 4.0, axis=0)), 3.0)
    assert wide.at_edge == "wide" and "axial PSF" in wide.edge_note(0.5, "um") and "um" in wide.edge_note(0.5, "um")
    inside = estimate_profile(acquire(truth), 3.0)
    assert inside.at_edge is None and inside.edge_note() is None


def test_slices_that_overlap_are_said_so_with_what_it_means():
    """A profile reaching further than slices one step thick (a Gaussian 1.5 steps wide) gets the overlap note: Z
    holds more blur than its step and the result removes it too; 0.6 step does not; a width cut off wide has its
    own note only; the run's notes carry it in the voxel size's unit."""
    rng = np.random.default_rng(1)
    truth = ndimage.gaussian_filter(rng.standard_normal((72, 56, 56)), 1.0)
    acquire = lambda v, fwhm: degrade_axis(v, 0, 3.0, named("gaussian", fwhm)).astype(np.float32)  # noqa: E731
    wide = estimate_profile(acquire(truth, 4.5), 3.0)
    note = wide.overlap_note(3.0, 0.5, "um")
    assert wide.profile.reach(3.0) > OVERLAP_RATIO and "\n" not in note
    assert named("rect", 3.0).reach(3.0) == pytest.approx(1.0, abs=0.01)  # a box one step thick reaches 1
    assert "um" in note and "Z step" in note and "axial blur" in note and "--fwhm" in note
    assert estimate_profile(acquire(truth, 1.8), 3.0).overlap_note(3.0) is None
    cut = estimate_profile(acquire(ndimage.gaussian_filter1d(truth, 4.0, axis=0), 1.8), 3.0)
    assert cut.at_edge == "wide" and cut.overlap_note(3.0) is None and cut.edge_note() is not None
    result = dualsr.isotropic(acquire(truth, 4.5), (1.5, 0.5, 0.5), settings=TINY)
    (overlap,) = [n for n in result.profile_notes("um") if "Z step" in n]
    assert f"FWHM {result.profile.fwhm * 0.5:.3g} um)" in overlap
    summary = result.summary()  # written into the output's metadata: the file says it too
    assert summary["profile_reach_steps"] > OVERLAP_RATIO and any("Z step" in n for n in summary["notes"])


def test_a_given_shape_alone_estimates_the_width_and_says_so():
    rng = np.random.default_rng(0)
    vol = ndimage.gaussian_filter(rng.random((12, 32, 32)), 1).astype(np.float32)
    result = dualsr.isotropic(vol, (1.5, 0.5, 0.5), settings=TINY, shape="rect")
    assert result.profile_source == "estimated-width" and result.profile.shape == "rect"
    assert result.summary()["profile_estimate"]["shape_given"] is True and result.shape_note() is None
    with pytest.raises(DualSRInputError, match="unknown slice profile shape"):
        dualsr.isotropic(vol, (1.5, 0.5, 0.5), settings=TINY, shape="box")


def test_the_slab_model_is_the_object_averaged_over_the_profiles_offsets():
    """In-plane lines of a slice are slabs: their autocorrelation at lag t is the object's at
    radius sqrt(t^2 + u^2), u weighted by the profile's autocorrelation (one plane: the object's)."""
    r = np.exp(-np.arange(40) / 3.0)
    one = np.zeros((1, 40))
    one[0, 10] = 1.0
    np.testing.assert_allclose(_slab_matrix(one, 1, 40) @ r, r, atol=1e-12)
    two = np.zeros((1, 40))
    two[0, 10:12] = 0.5  # g = (1/4, 1/2, 1/4) at u = -1, 0, 1
    t = np.arange(40)
    expected = 0.5 * r + 0.5 * np.interp(np.minimum(np.hypot(t, 1.0), 39), t, r)
    np.testing.assert_allclose(_slab_matrix(two, 1, 40) @ r, expected, atol=1e-12)


@pytest.mark.parametrize("rule", FUSIONS)
def test_fusion_is_exact_on_a_constant_volume(rule):
    c = np.full((6, 9, 11), 0.37, np.float32)
    np.testing.assert_allclose(fuse(c, c.copy(), rule), c, atol=1e-6)
    a, b = np.random.default_rng(0).random((2, 4, 8, 8), dtype=np.float32)
    assert fuse(a, b, rule).shape == a.shape


def test_fusion_rules_differ_and_mean_is_the_average():
    a, b = np.random.default_rng(0).random((2, 3, 16, 16), dtype=np.float32)
    np.testing.assert_allclose(fuse(a, b, "mean"), (a + b) / 2, atol=1e-7)
    assert not np.allclose(fuse(a, b, "fourier"), fuse(a, b, "mean"))


@pytest.mark.parametrize(
    "voxel, message",
    [
        (None, "voxel size is unknown"),
        ((1.0, 1.0, 1.0), "isotropic already"),
        ((0.5, 1.0, 1.0), "smaller than the pixel size"),
        ((2.0, 0.5, 1.0), "not square"),
        ((2.0, -0.5, -0.5), "positive"),
        ((float("nan"), 0.5, 0.5), "positive"),
        ((100.0, 0.5, 0.5), "more than"),
        ((2.0, 0.5), "three numbers"),
    ],
)
def test_bad_voxel_sizes_are_one_line_errors(voxel, message):
    with pytest.raises(DualSRInputError, match=message) as err:
        check_voxel_size(voxel, (10, 20, 20))
    assert "\n" not in str(err.value)


def test_isotropic_end_to_end_shape_dtype_voxel_and_callable_package():
    rng = np.random.default_rng(0)
    vol = (ndimage.gaussian_filter(rng.random((10, 30, 28)), 1) * 60000).astype(np.uint16)
    result = dualsr.isotropic(vol, (1.5, 0.5, 0.5), settings=TINY, fwhm=1.5)
    assert result.image.shape == (30, 30, 28) and result.image.dtype == np.uint16
    assert result.factor == pytest.approx(3.0)
    assert result.voxel_size == (0.5, 0.5, 0.5)
    assert result.profile.fwhm == pytest.approx(3.0, rel=0.02) and result.profile_source == "fwhm"
    assert result.z_translate_shift == pytest.approx(-0.5)  # 0.5 * 1.5 * (1/3 - 1)
    assert result.summary()["profile_fwhm"] == pytest.approx(1.5, rel=0.02)


def test_a_given_profile_file_overrides_the_estimate(tmp_path):
    from dualsr.isotropic.profile import read_profile

    path = tmp_path / "p.txt"
    path.write_text("# measured\n0.1\n0.2\n0.4\n0.2\n0.1\n")
    p = read_profile(path)
    assert p.shape == "samples" and p.fwhm == pytest.approx(2.0)
    vol = np.random.default_rng(0).random((8, 24, 24)).astype(np.float32)
    result = dualsr.isotropic(vol, (2.0, 1.0, 1.0), profile=p, settings=TINY)
    assert result.profile_source == "samples" and result.estimate is None
    with pytest.raises(DualSRInputError, match="either"):
        dualsr.isotropic(vol, (2.0, 1.0, 1.0), profile=p, fwhm=2.0, settings=TINY)
    with pytest.raises(DualSRInputError, match="its own shape"):
        dualsr.isotropic(vol, (2.0, 1.0, 1.0), profile=p, shape="rect", settings=TINY)
    with pytest.raises(DualSRInputError, match="non-negative"):
        from_samples(np.array([-1.0, 2.0]))


def test_onnx_export_runs_with_onnxruntime_like_torch(tmp_path):
    from dualsr.isotropic.export import OnnxAxisModel

    vol = np.random.default_rng(0).random((9, 40, 42)).astype(np.float32)
    result = dualsr.isotropic(vol, (2.75, 0.5, 0.5), settings=TINY, fwhm=2.75)  # non-integer factor 5.5
    path = result.export_onnx(tmp_path / "iso.onnx")
    onnx_model = OnnxAxisModel(path)
    assert onnx_model.factor == pytest.approx(5.5)
    assert "profile" in onnx_model.meta and "normalization" in onnx_model.meta
    data = result.normalization.apply(vol)
    a = upsample_slices(result.model, data, "x")
    b = upsample_slices(onnx_model, data, "x")
    assert a.shape == (49, 40, 42)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_blocks_side_by_side_equal_the_whole_stack():
    from dualsr.isotropic.blocks import plan, upsample_block

    torch.manual_seed(0)
    model = AxisUpsampler(2.5, layers=3, features=8).eval()
    torch.nn.init.normal_(model.body[-1].weight, 0, 0.1)  # a body that does something
    vol = (np.random.default_rng(0).random((7, 29, 33)) * 1000).astype(np.float32)
    from dualsr.io.normalize import fit_normalization

    norm = fit_normalization(vol, "percentile")
    whole = apply_both(model, norm.apply(vol), norm)
    out = np.zeros_like(whole)
    for box in plan(29, 33, 12):
        y0, y1, x0, x1 = box
        out[:, y0:y1, x0:x1] = upsample_block(model, lambda s: vol[s], vol.shape, box, norm)
    np.testing.assert_allclose(out, whole, atol=1e-3)  # float32 sums in another order
    with pytest.raises(DualSRInputError, match="whole planes"):
        upsample_block(model, lambda s: vol[s], vol.shape, (0, 12, 0, 12), norm, "fourier")
