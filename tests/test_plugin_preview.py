"""The train widget while it trains (under ``xvfb-run -a``): the x2 layer grows, the kernel
follows, bicubic x2 sits under it for comparison, and several planes train one model."""

from __future__ import annotations

import numpy as np
import pytest

import dualsr
from conftest import halves_blurred, power_law_field, textured
from dualsr.evaluation.degrade import degrade
from dualsr.kernels.spectral import gaussian_from_covariance
from plugin_helpers import TINY, TRAIN, open_widget

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("single_torch_thread")]


def watch(qtbot, widget):
    """Run the widget's training; every preview as (step, copy of the x2 layer, its layer object),
    every kernel readout, and whether the worker had returned when each was seen."""
    seen, readouts, returned = [], [], []
    on_update, on_done = widget.runner.on_update, widget.runner.on_done

    def update(u):
        on_update(u)
        readouts.append(widget.kernel_state.value)
        if u.phase == "preview":
            sr = widget._live.sr
            seen.append((u.done, np.array(sr.data), sr, bool(returned)))

    widget.runner.on_update = update
    widget.runner.on_done = lambda outcome: (returned.append(True), on_done(outcome))
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    return seen, readouts


def test_the_x2_layer_grows_during_training_and_becomes_the_result(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    data = textured((96, 100)).astype(np.float32)
    viewer.add_image(data, name="cells", scale=(0.5, 0.5), translate=(10.0, 20.0), contrast_limits=(0, 1))
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = {**TINY, "kernel_estimator": "gan"}  # the paper's kernel: it settles as it trains
    widget.acquisition.value = "gaussian-blur"  # (auto would take this image for a camera's: a fixed kernel)
    widget.iterations.value = 80
    widget.preview_every = 0.0
    widget.preview_budget = 1.0  # a preview at every report (8 of them), whatever the machine's load
    seen, readouts = watch(qtbot, widget)

    during = [s for s in seen if not s[3]]
    assert len(during) >= 2 and during[0][0] < 80  # the x2 layer is there before training ends ...
    assert not np.array_equal(during[0][1], during[-1][1])  # ... and changes from report to report
    assert "still settling: the ×2 will change" in readouts
    clock = widget.runner.controls.previews
    assert clock.count >= 7  # every report from step 10 on (the 5 % budget: test_plugin_parts)

    sr, kernel = viewer.layers["cells ×2 (DualSR)"], viewer.layers["cells kernel (DualSR)"]
    names = [layer.name for layer in viewer.layers]
    assert names.count("cells ×2 (DualSR)") == 1 and during[0][2].name == sr.name  # the preview became the result
    info = sr.metadata["dualsr"]
    assert info["role"] == "x2 image" and info["steps"] == 80 and sr.data.shape == (192, 200)
    assert np.isclose(kernel.data.sum(), 1, atol=1e-4) and kernel.metadata["dualsr"]["role"] == "estimated kernel"

    bicubic = viewer.layers["cells ×2 (bicubic)"]  # the baseline, placed exactly like the x2 layer
    assert np.allclose(bicubic.scale, sr.scale) and np.allclose(bicubic.translate, sr.translate)
    assert np.array_equal(bicubic.data, dualsr.bicubic_x2(data)) and bicubic.contrast_limits == sr.contrast_limits
    assert viewer.layers.index(bicubic) < viewer.layers.index(sr)  # under it: toggle the x2 layer to compare
    assert widget.kernel_state.value in ("settled", "uncertain: the ×2 may be over- or under-sharpened")


def test_the_spectral_kernel_is_judged_before_the_first_step(make_napari_viewer, qtbot):
    """The fast preset's closed-form kernel: the readout is final from the first report on."""
    viewer = make_napari_viewer()
    viewer.add_image(textured((96, 100)).astype(np.float32), name="cells")  # sinusoids: not a natural spectrum
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.acquisition.value = "gaussian-blur"  # the blind estimate itself, not auto's camera for this image
    widget.iterations.value = 20
    _, readouts = watch(qtbot, widget)
    shown = [r for r in readouts if r]
    assert shown and set(shown) == {"uncertain: the ×2 may be over- or under-sharpened"}
    info = viewer.layers["cells ×2 (DualSR)"].metadata["dualsr"]
    assert info["kernel_state"] == "not settled" and "not follow a natural image" in info["kernel_warning"]


def test_previews_follow_the_plane_on_screen_and_can_be_switched_off(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    stack = np.stack([textured((96, 100), seed=s) * (s + 1) for s in range(3)]).astype(np.float32)
    viewer.add_image(stack, name="stack")
    viewer.dims.set_current_step(0, 2)
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 30
    widget.preview_every = 0.05
    widget.compare.value = False
    seen, _ = watch(qtbot, widget)
    first = seen[0][1]
    assert first[2].any() and not first[0].any() and not first[1].any()  # only plane z=2 was previewed
    assert "stack ×2 (bicubic)" not in [layer.name for layer in viewer.layers]

    widget.preview.value = False
    seen, _ = watch(qtbot, widget)
    assert seen == [] and viewer.layers[-3].name.startswith("stack ×2 (DualSR)")


def test_several_planes_train_one_model(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    stack = np.stack([textured((96, 100), seed=s) for s in range(4)]).astype(np.float32)
    viewer.add_image(stack, name="stack")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 4
    widget.preview.value = widget.compare.value = False
    widget.planes.mode.value = "all planes"
    assert widget.planes.plane.value == "all 4 planes: one kernel, one model" and widget.planes.first.native.isHidden()
    widget.planes.mode.value = "planes from … to …"
    widget.planes.first.value, widget.planes.last.value = 1, 2
    assert not widget.planes.first.native.isHidden() and widget.planes.plane.value.startswith("2 planes, Z=1 … Z=2")
    watch(qtbot, widget)
    info = viewer.layers["stack ×2 (DualSR)"].metadata["dualsr"]
    assert info["plane"] == [1, 2] and info["steps"] == 4
    assert viewer.layers["stack ×2 (DualSR)"].data.shape == (4, 192, 200)


def test_previews_cover_only_the_part_in_view(make_napari_viewer):
    from napari_dualsr._jobs import source_of
    from napari_dualsr._live_layers import PREVIEW_PIXELS, LiveLayers

    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((1300, 1200), np.uint16), name="big", scale=(0.5, 0.5), translate=(5, 0))
    live = LiveLayers(viewer, layer, source_of(layer))
    height, width = viewer.canvas.size
    viewer.camera.zoom = width / 100  # 100 world units = 200 pixels across
    viewer.camera.center = (5 + 400 * 0.5, 300 * 0.5)  # data pixel (400, 300)
    y0, y1, x0, x1 = live.view().region
    assert y0 <= 400 < y1 and x0 <= 300 < x1
    assert abs((x1 - x0) - 200) <= 4 and abs((y1 - y0) - 200 * height / width) <= 4
    viewer.reset_view()  # all of it in view: at most PREVIEW_PIXELS around the centre
    y0, y1, x0, x1 = live.view().region
    assert (y1 - y0) * (x1 - x0) <= PREVIEW_PIXELS and y0 <= 650 < y1 and x0 <= 600 < x1
    small = viewer.add_image(np.zeros((300, 300), np.uint16))
    viewer.reset_view()
    assert LiveLayers(viewer, small, source_of(small)).view().region == (0, 300, 0, 300)  # all in view: all


def _optics_or_digital() -> np.ndarray:
    return degrade(power_law_field(384, 2.8, 2), gaussian_from_covariance(np.diag([2.0, 3.4]), 13)).astype(np.float32)


@pytest.mark.parametrize(
    ("make", "flag", "line", "fix"),
    [
        (  # axes 1.7:1: taken for a camera's optics
            _optics_or_digital,
            "ambiguous",
            "uncertain: taken for the optics; if the blur is digital, set acquisition to gaussian-blur",
            ("under-sharpened", "'gaussian-blur'"),
        ),
        (  # the whole elongated, a half round: taken for a digital blur
            halves_blurred,
            "split",
            "uncertain: taken for a digital blur; if the image is a camera's, set acquisition to camera",
            ("over-sharpened", "'camera'"),
        ),
    ],
)
def test_a_blur_that_may_be_the_other_acquisition_says_so_and_what_to_set(
    make_napari_viewer, qtbot, make, flag, line, fix
):
    """Where the image could have been made the other way (a blur between round and elongated taken for optics,
    or halves that read different acquisitions), the kernel line names the setting for the other one."""
    viewer = make_napari_viewer()
    viewer.add_image(make(), name="photo")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 3
    watch(qtbot, widget)
    assert widget.kernel_state.value == line
    assert all(word in widget.kernel_state.tooltip for word in fix)
    assert "kernel uncertain" in widget.verdict.value
    info = viewer.layers["photo ×2 (DualSR)"].metadata["dualsr"]
    assert info["acquisition"][flag] and info["kernel_state"] == "not settled"
