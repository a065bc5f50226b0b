"""The plugin's pure parts: placement, jobs from layers, the update relay, the manifest. No viewer."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from napari.layers import Image

from dualsr.errors import DualSRInputError
from napari_dualsr._jobs import axes_choices, describe_plane, plane_on_screen, source_of, train_job
from napari_dualsr._layers import kernel_layer, upscaled_layer
from napari_dualsr._placement import beside_placement, upscaled_placement
from napari_dualsr._previews import PreviewClock, View, preview_step, tiles
from napari_dualsr._workers import Cancelled, Update, relay


def run_relay(work, interval=0.01):
    """Drive a relay generator to its end: (updates, outcome)."""
    updates, gen = [], relay(work, interval)
    while True:
        try:
            updates.append(next(gen))
        except StopIteration as end:
            return updates, end.value


def test_upscaled_placement_lines_up_pixel_centres_and_edges():
    s, t, f = 0.4, 3.0, 2
    scale, translate = upscaled_placement((5.0, s, s), (7.0, t, -t), spatial=(1, 2), factor=f)
    assert scale == (5.0, s / f, s / f) and translate[0] == 7.0  # Z untouched
    for i in range(4):  # LR centre i == mean of HR centres 2i, 2i+1
        hr = [translate[1] + j * scale[1] for j in (2 * i, 2 * i + 1)]
        assert np.isclose(np.mean(hr), t + i * s)
    assert np.isclose(translate[2] - scale[2] / 2, -t - s / 2)  # same left edge


def test_beside_placement_is_right_of_the_image_and_top_aligned():
    scale, translate = beside_placement((100, 200), (0.5, 0.5), (10.0, 20.0), size=13)
    image_right = 20.0 + 199.5 * 0.5
    assert translate[1] - scale[1] / 2 > image_right
    assert np.isclose(translate[0] - scale[0] / 2, 10.0 - 0.25)
    assert np.isclose(13 * scale[0], 0.25 * 50)


def test_axes_and_plane_of_layers():
    stack = Image(np.zeros((5, 40, 30)), scale=(2.0, 1.0, 1.0), translate=(4.0, 0, 0))
    assert axes_choices(stack)[0] == "ZYX" and axes_choices(Image(np.zeros((40, 40, 3), np.uint8)))[0] == "YXC"
    assert plane_on_screen(stack, (8.0, 0, 0), "ZYX") == (2,)  # world z 8 -> (8 - 4) / 2
    assert plane_on_screen(stack, (99.0, 0, 0), "ZYX") == (4,)  # clipped to the stack
    assert plane_on_screen(stack, (8.0, 0, 0), "CYX") is None
    assert describe_plane("TZYX", (1, 3)) == "T=1, Z=3"


def test_rgb_layers_scale_y_and_x_and_stay_rgb():
    rgb = Image(np.zeros((40, 50, 3), np.uint8), scale=(2.0, 2.0), blending="additive", name="slide")
    source = source_of(rgb)
    assert source.axes == "YXC" and source.spatial == (0, 1) and "colormap" not in source.style
    data, kwargs, kind = upscaled_layer(source, np.zeros((80, 100, 3), np.uint8), {"steps": 1})
    assert kwargs["rgb"] and kwargs["scale"] == (1.0, 1.0) and kwargs["translate"] == (-0.5, -0.5)
    assert kwargs["blending"] == "additive" and kwargs["name"] == "slide ×2 (DualSR)" and kind == "image"
    Image(data, **kwargs)  # napari accepts the keyword arguments


def test_per_channel_kernels_line_up_with_the_channel_axis():
    layer = Image(np.zeros((4, 2, 40, 50)), scale=(5.0, 1.0, 0.5, 0.5), translate=(0, 3.0, 0, 0))
    source = source_of(layer, "ZCYX")
    _, kwargs, _ = kernel_layer(source, np.full((2, 13, 13), 1 / 169), {})
    assert kwargs["scale"][0] == 1.0 and kwargs["translate"][0] == 3.0 and len(kwargs["scale"]) == 3
    assert kwargs["translate"][2] > 50 * 0.5  # right of the image
    Image(np.zeros((2, 13, 13)), **kwargs)


def test_train_job_checks_paths_and_axes(tmp_path):
    layer = Image(np.zeros((200, 200), dtype=np.uint16))
    with pytest.raises(DualSRInputError, match="must end in .onnx"):
        train_job(layer, onnx_path=tmp_path / "model.txt")
    with pytest.raises(DualSRInputError, match="does not exist"):
        train_job(layer, onnx_path=tmp_path / "missing" / "model.onnx")
    with pytest.raises(DualSRInputError, match="do not fit"):
        train_job(layer, axes="ZYX")
    job = train_job(layer, preset_name="fast", iterations=30, seed=3, known_kernel=np.ones((5, 5)))
    assert job.config.iterations == 30 and job.config.seed == 3 and job.known_kernel.shape == (5, 5)
    assert job.source.data is layer.data  # the layer's array, not a copy (and never written)


def test_relay_yields_newest_updates_and_returns_the_value():
    def work(report):
        for i in range(1, 201):
            report(Update("training", i, 200))
        report(Update("super-resolving", 1, 1))
        return "done"

    updates, outcome = run_relay(work, interval=0.05)
    assert outcome.value == "done" and outcome.error is None
    assert updates[-2:] == [Update("training", 200, 200), Update("super-resolving", 1, 1)]
    assert len(updates) < 100  # coalesced


@pytest.mark.parametrize(
    "error, field, expected",
    [
        (
            DualSRInputError("the image is too small; use a bigger one"),
            "error",
            "the image is too small; use a bigger one",
        ),
        (RuntimeError("boom"), "error", "RuntimeError: boom"),
        (Cancelled("stop"), "cancelled", True),
    ],
)
def test_relay_turns_exceptions_into_outcomes(error, field, expected):
    def work(report):
        raise error

    _, outcome = run_relay(work)
    assert getattr(outcome, field) == expected and outcome.value is None


def test_relay_worker_thread_is_not_the_caller():
    seen = []
    _, outcome = run_relay(lambda report: seen.append(threading.current_thread().name))
    assert seen == ["dualsr-run"] and outcome.error is None


def test_manifest_validates_and_imports():
    from npe2 import PluginManifest

    manifest = PluginManifest._from_package_or_name("napari-dualsr")
    manifest.validate_imports()
    names = {w.display_name for w in manifest.contributions.widgets}
    assert names == {"DualSR: train & super-resolve", "DualSR: apply ONNX model", "DualSR: make isotropic"}
    assert [r.filename_patterns for r in manifest.contributions.readers] == [["*.nii", "*.nii.gz"]]


def test_the_preview_clock_keeps_previews_under_their_budget():
    clock = PreviewClock(every=0.0, budget=0.05)
    assert not clock.due()  # no view: previews are off
    clock.view = View(0, (0, 100, 0, 100))
    clock.started -= 1.0  # one second of training so far
    assert clock.due()  # the first preview comes after `every` (here 0) s of training
    clock.record(0.03, (0, 96, 0, 96))
    assert not clock.due()  # 0.03 + 0.03 s would be over 5 % of 1 s
    clock.started -= 1.0
    assert clock.due() and clock.fraction == pytest.approx(0.03 / 2, rel=0.05)
    clock.every = 60.0
    assert not clock.due()  # at most one per `every` seconds


def test_preview_tiles_cover_the_view_centre_out_and_fit_the_budget():
    cut = tiles((10, 310, 0, 200), 100)
    assert len(cut) == 9 and cut[0] == (110, 210, 50, 150)  # a tile centred on the view first
    covered = np.zeros((320, 200), int)
    for y0, y1, x0, x1 in cut:
        covered[y0:y1, x0:x1] += 1
    assert (covered[10:310] == 1).all() and not covered[:10].any()  # every pixel once
    clock = PreviewClock(every=3.0, budget=0.05, view=View(0, (0, 300, 0, 300)))
    assert clock.next_tile(clock.view) == (102, 198, 102, 198)  # the first tile: 96 px, centred
    clock.record(0.6, (0, 100, 0, 100))  # 60 us per pixel: 0.15 s buys 2500 pixels
    assert clock.tile_side() == 50
    assert len({clock.next_tile(clock.view) for _ in range(30)}) == 9  # the view keeps its 96 px grid
    clock.view = View(1, (0, 2000, 0, 2000))  # another view: tiles are cut anew, at the new size
    y0, y1, x0, x1 = clock.next_tile(clock.view)
    assert y1 - y0 == 500 and y0 <= 1000 <= y1  # 2000^2 / 16: at most 16 tiles a sweep
    clock.view = View(1, (0, 100, 0, 100))
    assert clock.next_tile(clock.view) == (25, 75, 25, 75)  # small views: tiles of the measured size


def test_the_relay_keeps_the_newest_preview_beside_the_newest_step():
    def work(report):
        for i in range(1, 101):
            report(Update("training", i, 100))
            report(Update("preview", i, 100, image=np.full((2, 2), i)))
        return "done"

    updates, _ = run_relay(work, interval=0.05)
    previews = [u for u in updates if u.phase == "preview"]
    assert previews[-1].image[0, 0] == 100 and updates[-1].done == 100


def test_a_failing_preview_turns_previews_off_and_training_goes_on():
    from dualsr.engine.loop import StepInfo

    def broken(**_):
        raise RuntimeError("CUDA out of memory")

    clock = PreviewClock(every=0.0, view=View(0, (0, 50, 0, 50)))
    assert preview_step(StepInfo(10, 100, {}, 1.0, preview=broken), clock) is None and clock.view is None


def test_out_of_memory_in_a_run_says_how_to_go_on():
    """numpy's own allocation failure (a 1 EiB array), on the run's thread: one line with the way out."""
    import numpy as np

    _, outcome = run_relay(lambda report: np.empty(2**60, np.uint8))
    assert outcome.error.startswith("out of memory (Unable to allocate") and "--block" in outcome.error


ROTATED = {
    "rotate": 25.0,
    "shear": [0.1, 0.05, 0.2],
    "affine": [[1, 0, 0, 5], [0, 0.8, -0.6, 0], [0, 0.6, 0.8, 0], [0, 0, 0, 1]],
}


def _world_corners(layer: Image, spatial: tuple[int, ...]) -> np.ndarray:
    """World positions of the outer edges of the first and last pixels along every dim in ``spatial``."""
    shape = np.asarray(layer.data.shape)
    corners = []
    for far in np.ndindex(*(2,) * len(spatial)):
        point = np.zeros(len(shape))
        for d, f in zip(spatial, far):
            point[d] = shape[d] - 0.5 if f else -0.5
        corners.append(layer.data_to_world(point))
    return np.asarray(corners)


def test_a_rotated_sheared_layer_s_x2_lies_over_it():
    """rotate, shear and affine are kept, and the first pixel's shift turned with them: the x2's box is the
    input's box in the world (as with a plain layer)."""
    layer = Image(np.zeros((3, 20, 24), np.float32), scale=(2.0, 0.5, 0.5), translate=(1.0, 2.0, 3.0), **ROTATED)
    data, kwargs, _ = upscaled_layer(source_of(layer, "ZYX"), np.zeros((3, 40, 48), np.float32), {})
    x2 = Image(data, **kwargs)
    np.testing.assert_allclose(x2.rotate, layer.rotate) and np.testing.assert_allclose(x2.shear, layer.shear)
    np.testing.assert_allclose(_world_corners(x2, (0, 1, 2)), _world_corners(layer, (0, 1, 2)), atol=1e-9)
    plain = Image(np.zeros((20, 24), np.float32))
    assert "rotate" not in upscaled_layer(source_of(plain), np.zeros((40, 48)), {})[1]  # nothing to carry
