"""Plugins > DualSR: make isotropic, in a real viewer (xvfb-run -a): offered for an anisotropic 3-D
layer, a live XZ preview while training, the result placed exactly over the input in 3-D."""

from __future__ import annotations

import re

import numpy as np
import pytest
from qtpy.QtCore import Qt
from scipy import ndimage

from dualsr.errors import DualSRInputError
from plugin_helpers import errors_since, open_widget

ISO = "DualSR: make isotropic"


@pytest.fixture
def stack() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (ndimage.gaussian_filter(rng.random((8, 40, 36)), 1.0) * 4000).astype(np.uint16)


def test_make_isotropic_places_the_result_over_the_input(make_napari_viewer, qtbot, stack, monkeypatch):
    from napari.utils.notifications import notification_manager

    import napari_dualsr._isotropic as iso

    monkeypatch.setattr(iso, "PREVIEW_S", 0.0)  # a preview at every report
    viewer = make_napari_viewer()
    layer = viewer.add_image(stack, name="cells", scale=(2.0, 0.5, 0.5), translate=(1.0, 3.0, 4.0))
    widget = open_widget(viewer, ISO)
    assert widget.image.value is layer
    assert "factor 4" in widget.info.value and widget.run_button.enabled
    widget.steps.value = 20
    widget.fwhm.value = 2.0
    previews = []
    widget.runner.on_update = lambda u, inner=widget._update: (previews.append(u.phase), inner(u))
    start = len(notification_manager.records)
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    assert not errors_since(start)
    assert "preview" in previews
    out = viewer.layers["cells isotropic (DualSR)"]
    assert out.data.shape == (32, 40, 36) and out.data.dtype == np.uint16
    np.testing.assert_allclose(out.scale, (0.5, 0.5, 0.5))
    np.testing.assert_allclose(out.translate, (1.0 + 0.5 * 2.0 * (1 / 4 - 1), 3.0, 4.0))

    # the two layers cover the same box in the world: first and last voxel edges agree on every axis
    def edges(lyr):
        t, s, n = np.asarray(lyr.translate), np.asarray(lyr.scale), np.asarray(lyr.data.shape)
        return np.concatenate([t - s / 2, t + (n - 0.5) * s])

    np.testing.assert_allclose(edges(out), edges(layer), atol=1e-9)
    assert not any("XZ preview" in lyr.name for lyr in viewer.layers)  # the preview goes when the result comes
    assert out.metadata["dualsr"]["factor"] == pytest.approx(4.0)
    assert out.colormap.name == layer.colormap.name


def test_an_isotropic_layer_is_not_offered(make_napari_viewer, stack):
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="iso", scale=(1.0, 1.0, 1.0))
    widget = open_widget(viewer, ISO)
    assert not widget.run_button.enabled
    assert "isotropic already" in widget.info.value
    viewer.add_image(stack, name="thick", scale=(3.0, 1.0, 1.0))
    widget.image.value = viewer.layers["thick"]
    assert widget.run_button.enabled and "factor 3" in widget.info.value


def test_nifti_opens_with_its_voxel_size_as_scale(make_napari_viewer, tmp_path, stack):
    nib = pytest.importorskip("nibabel")
    path = tmp_path / "head.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(stack, (2, 1, 0)), np.diag([0.5, 0.5, 2.0, 1.0])), path)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-dualsr")
    assert layer.data.shape == (8, 40, 36)
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))
    widget = open_widget(viewer, ISO)
    assert widget.run_button.enabled and "factor 4" in widget.info.value


def test_a_nifti_larger_than_half_the_memory_free_opens_lazily(make_napari_viewer, tmp_path, stack, monkeypatch):
    """Read a plane at a time as shown; *make isotropic* then refuses it unread, naming the block command."""
    nib = pytest.importorskip("nibabel")
    import dask.array as da

    from napari_dualsr import _isotropic, _reader

    path = tmp_path / "big.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(stack, (2, 1, 0)), np.diag([0.5, 0.5, 2.0, 1.0])), path)
    monkeypatch.setattr(_reader, "free_memory", lambda: stack.nbytes)  # the file holds twice half of it
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-dualsr")
    assert isinstance(layer.data, da.Array) and layer.data.chunks[0] == (1,) * 8
    np.testing.assert_array_equal(np.asarray(layer.data[3]), stack[3])
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))
    monkeypatch.setattr(_isotropic, "memory_shortfall", lambda shape, factor: "the stack needs about 1.0 GB")
    widget = open_widget(viewer, ISO)
    out = tmp_path / "big_iso.nii.gz"  # the command to copy: this file, its scale, the output beside it
    with pytest.raises(DualSRInputError, match=re.escape(f"{path} -o {out} --voxel-size 2,0.5,0.5 --block 128")):
        widget.job()
    monkeypatch.undo()
    (small,) = viewer.open(str(path), plugin="napari-dualsr")  # with the memory free as it is: read whole
    assert isinstance(small.data, np.ndarray)


def test_make_isotropic_denoises_a_noisy_layer_and_says_so(make_napari_viewer, qtbot):
    from napari.utils.notifications import notification_manager

    rng = np.random.default_rng(0)
    clean = ndimage.gaussian_filter(rng.random((8, 40, 36)), 1.5)
    noisy = (rng.poisson((clean - clean.min()) / np.ptp(clean) * 100 + 5) * 100).astype(np.uint16)
    viewer = make_napari_viewer()
    viewer.add_image(noisy, name="noisy", scale=(2.0, 0.5, 0.5))
    widget = open_widget(viewer, ISO)
    assert widget.noise.value == "auto"
    widget.noise.value = "off"
    assert widget.job().noise == "off"
    widget.noise.value = "auto"
    # the live preview is fed the XZ slice as the run sees it: denoised (a band of rows, as if whole planes)
    from dualsr.isotropic.noise import denoise_stack, plan_stack_noise
    from napari_dualsr._isotropic import preview_slice

    whole = denoise_stack(noisy, plan_stack_noise("auto", noisy).estimate)[:, 20, :]
    assert np.abs(preview_slice(widget.job(), 20).astype(int) - whole.astype(int)).max() <= 1
    widget.steps.value, widget.fwhm.value, widget.preview.value = 3, 1.2, False
    start = len(notification_manager.records)
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    assert not errors_since(start)
    said = [str(r.message) for r in notification_manager.records[start:]]
    assert any("noise model on (auto" in m for m in said), said
    out = viewer.layers["noisy isotropic (DualSR)"]
    assert out.metadata["dualsr"]["noise"]["active"] is True
    np.testing.assert_array_equal(viewer.layers["noisy"].data, noisy)  # the input layer is untouched


def test_the_slice_shape_fixes_the_shape_and_an_unseen_one_is_said(make_napari_viewer, qtbot):
    """'slice shape' rect with FWHM 0 fits only the width; left to the estimate, a stack that cannot
    tell the shapes apart gets a notification naming both widths; the input layer stays as it was."""
    from napari.utils.notifications import notification_manager

    from dualsr.isotropic.degrade import degrade_axis
    from dualsr.isotropic.profile import named
    from napari_dualsr._isotropic import BLIND_SHAPE, isotropic_job

    rng = np.random.default_rng(1)
    field = ndimage.gaussian_filter(rng.standard_normal((48, 40, 40)), 1.0)
    lr = degrade_axis(field, 0, 3.0, named("rect", 3.0)).astype(np.float32)
    viewer = make_napari_viewer()
    layer = viewer.add_image(lr, name="slices", scale=(1.5, 0.5, 0.5))
    widget = open_widget(viewer, ISO)
    assert widget.shape.value == BLIND_SHAPE and widget.job().shape is None
    widget.steps.value, widget.preview.value, widget.noise.value = 2, False, "off"
    said = {}
    for shape in ("rect", BLIND_SHAPE):
        widget.shape.value = shape
        start = len(notification_manager.records)
        widget.run_button.clicked.emit()
        qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
        assert not errors_since(start)
        said[shape] = " ".join(str(r.message) for r in notification_manager.records[start:])
        assert ("Shape not seen: gaussian" in widget.profile_info.value) == (shape == BLIND_SHAPE)
        assert widget.profile_info.value.startswith("slice profile: rect, FWHM" if shape == "rect" else "slice")
        out = viewer.layers["slices isotropic (DualSR)"]
        profile = out.metadata["dualsr"]["profile"]
        if shape == "rect":
            assert profile["source"] == "estimated-width" and profile["shape"] == "rect"
        else:
            assert profile["source"] == "estimated"
        viewer.layers.remove(out)
    assert "shape is not seen" not in said["rect"]
    assert "shape is not seen" in said[BLIND_SHAPE] and "rect of FWHM" in said[BLIND_SHAPE]
    np.testing.assert_array_equal(layer.data, lr)
    with pytest.raises(DualSRInputError, match="unknown slice shape"):
        isotropic_job(layer, shape="box")


def test_the_profile_line_says_a_width_cut_off_by_the_search():
    """A stack whose Z shows no slice profile (noise): the widget's profile line says the width is at the
    widest tried, so the user knows to give the FWHM."""
    import dualsr
    from dualsr.isotropic.train import TrainSettings
    from napari_dualsr._isotropic import profile_text

    noise = ndimage.gaussian_filter(np.random.default_rng(0).random((8, 56, 56)), 1.0).astype(np.float32)
    tiny = TrainSettings(steps=2, batch=2, patch=16, layers=3, features=8)
    result = dualsr.isotropic(noise, (1.5, 0.5, 0.5), settings=tiny, noise="off")
    text = profile_text(result)
    assert text.startswith("slice profile: ") and "At the widest width tried: set slice FWHM" in text
    assert "axial PSF" in result.profile_notes()[0] and "Wider than one Z step" not in text  # one note for it


def test_the_profile_line_says_slices_that_overlap():
    """A Gaussian profile 1.5 Z steps wide: the profile line, which stays after the notification, says that Z is
    sharpened past what was recorded and how to keep it."""
    import dualsr
    from dualsr.isotropic.degrade import degrade_axis
    from dualsr.isotropic.profile import named
    from dualsr.isotropic.train import TrainSettings
    from napari_dualsr._isotropic import profile_text

    field = ndimage.gaussian_filter(np.random.default_rng(1).standard_normal((72, 56, 56)), 1.0)
    stack = degrade_axis(field, 0, 3.0, named("gaussian", 4.5)).astype(np.float32)
    tiny = TrainSettings(steps=2, batch=2, patch=16, layers=3, features=8)
    result = dualsr.isotropic(stack, (1.5, 0.5, 0.5), settings=tiny, noise="off")
    text = profile_text(result)
    assert "Wider than one Z step (axial blur?): Z sharpened past what was recorded; set slice FWHM" in text


def test_slices_all_alike_fail_with_one_line_and_leave_the_layer(make_napari_viewer, qtbot, stack):
    """A blind run on a stack that shows no profile says why, adds no layer and keeps the input."""
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    alike = np.repeat(stack[:1], 8, axis=0)
    layer = viewer.add_image(alike.copy(), name="flat", scale=(3.0, 1.0, 1.0))
    widget = open_widget(viewer, ISO)
    widget.steps.value, widget.preview.value, widget.noise.value = 2, False, "off"
    start = len(notification_manager.records)
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    said = [str(r.message) for r in notification_manager.records[start:]]
    assert widget.status.value == "failed" and any("slices are all alike" in m and "slice FWHM" in m for m in said)
    assert "slices are all alike" in widget.profile_info.value  # the why stays after the notification fades
    assert [lyr.name for lyr in viewer.layers] == ["flat"]
    np.testing.assert_array_equal(layer.data, alike)
    assert widget.run_button.enabled


def test_a_layer_too_large_for_the_memory_free_is_refused_before_it_is_read(make_napari_viewer):
    """A lazy (dask) layer whose run would need far more than the memory free: refused with the block-by-block
    command, before any plane is read; napari stays up, the layer as it was."""
    import dask.array as da
    from napari.utils.notifications import notification_manager

    reads = []
    huge = da.zeros((4000, 8192, 8192), dtype=np.uint16, chunks=(1, 8192, 8192)).map_blocks(
        lambda b: reads.append(b.shape) or b, dtype=np.uint16
    )
    viewer = make_napari_viewer()
    viewer.add_image(huge, name="huge", scale=(4.0, 1.0, 1.0), contrast_limits=(0, 1))
    widget = open_widget(viewer, ISO)
    seen = len(reads)  # the planes napari itself shows
    start = len(notification_manager.records)
    widget.run_button.clicked.emit()
    said = [str(r.message) for r in notification_manager.records[start:]]
    assert widget.status.value == "not started" and not widget.runner.running
    assert "GB in memory" in widget.profile_info.value
    assert "dualsr isotropic IN -o OUT --voxel-size 4,1,1 --block 128" in widget.profile_info.value
    assert widget.profile_info.native.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse  # copy it
    assert any("GB in memory" in m for m in said)
    assert len(reads) == seen and [lyr.name for lyr in viewer.layers] == ["huge"]


def test_a_rotated_sheared_volume_s_isotropic_result_lies_over_it(stack):
    from napari.layers import Image

    from dualsr.isotropic import isotropic
    from dualsr.isotropic.train import TrainSettings
    from napari_dualsr._isotropic import isotropic_job, result_layer

    affine = [[1, 0, 0, 5], [0, 0.8, -0.6, 0], [0, 0.6, 0.8, 0], [0, 0, 0, 1]]
    layer = Image(stack, scale=(2.0, 0.5, 0.5), translate=(1.0, 3.0, 4.0), rotate=25.0, shear=[0.1, 0.05, 0.2],
                  affine=affine)  # fmt: skip
    job = isotropic_job(layer, fwhm=2.0, steps=2, noise="off")
    result = isotropic(job.data, job.scale, fwhm=2.0, settings=TrainSettings(steps=2), noise="off")
    data, kwargs, _ = result_layer(job, result)
    out = Image(data, **kwargs)
    shape_in, shape_out = np.asarray(stack.shape), np.asarray(out.data.shape)
    for far in np.ndindex(2, 2, 2):  # the outer corners of the two boxes, in the world
        corner = np.where(far, shape_in - 0.5, -0.5)
        np.testing.assert_allclose(
            out.data_to_world(np.where(far, shape_out - 0.5, -0.5)), layer.data_to_world(corner), atol=1e-9
        )
