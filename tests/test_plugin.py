"""The widgets in a real viewer (run under ``xvfb-run -a``): training, Stop, responsiveness, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from conftest import textured
from dualsr.trust.doubt import DOUBT_LEVEL
from napari_dualsr._apply_widget import ApplyWidget
from napari_dualsr._train_widget import TrainWidget
from plugin_helpers import APPLY, TINY, TRAIN, errors_since, open_widget, responsive_bound, ticks_while

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("single_torch_thread")]


def train_watching_the_event_loop(qtbot, widget) -> float:
    """Train with a 20 ms QTimer ticking; the longest gap between ticks until the worker returns.

    The one-time torch warm-up that starts with the widget is let finish first; adding
    the result layers (napari's own work, after the worker returned) is not counted.
    """
    qtbot.waitUntil(lambda: not widget.warm_up.is_alive(), timeout=60_000)
    returned: list[float] = []
    on_done = widget.runner.on_done
    widget.runner.on_done = lambda outcome: (returned.append(time.perf_counter()), on_done(outcome))
    ticks = ticks_while(qtbot, widget.start, lambda: widget.runner.running)
    running = [t for t in ticks if t <= returned[0]]
    assert len(running) > 20
    return float(np.max(np.diff(running)))


def test_widgets_open_from_the_manifest(make_napari_viewer):
    viewer = make_napari_viewer()
    assert isinstance(open_widget(viewer, TRAIN), TrainWidget)
    assert isinstance(open_widget(viewer, APPLY), ApplyWidget)


def test_training_adds_placed_layers_and_the_ui_stays_responsive(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    data = textured((96, 100)).astype(np.float32)
    layer = viewer.add_image(
        data, name="cells", scale=(0.5, 0.5), translate=(10.0, 20.0), colormap="magma", contrast_limits=(0.1, 0.9)
    )
    layer.metadata["origin"] = "test"
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 300  # long enough for several previews on a fast CPU (each costs two passes)
    widget.preview_every = 0.2  # previews on, several of them in the measured window
    assert widget.image.value is layer and widget.axes.value == "YX"

    bound = responsive_bound(qtbot)
    gap = train_watching_the_event_loop(qtbot, widget)
    previews = widget.runner.controls.previews.count
    print(f"longest gap between 20 ms timer ticks while training with {previews} previews: {gap * 1000:.0f} ms")
    assert gap < bound and previews >= 2, (gap, bound, previews)

    names = ["cells", "cells ×2 (bicubic)", "cells ×2 (DualSR)", "cells kernel (DualSR)", "cells doubt (DualSR)"]
    assert [lay.name for lay in viewer.layers] == names
    doubt = viewer.layers["cells doubt (DualSR)"]  # the x2's grid and placement, hidden until asked for
    assert doubt.data.shape == (192, 200) and doubt.data.dtype == np.float32 and not doubt.visible
    assert np.allclose(doubt.scale, (0.25, 0.25)) and np.allclose(doubt.translate, (10 - 0.125, 20 - 0.125))
    in_doubt = viewer.layers["cells ×2 (DualSR)"].metadata["dualsr"]["doubt"]["in_doubt"]
    assert in_doubt == pytest.approx(np.mean(doubt.data > DOUBT_LEVEL), abs=1e-4)
    assert doubt.data.min() >= 0 and doubt.metadata["dualsr"]["role"] == "doubt map"
    assert widget.verdict.value.startswith("resolution ") and "% of the image in doubt" in widget.verdict.value
    sr, kernel = viewer.layers["cells ×2 (DualSR)"], viewer.layers["cells kernel (DualSR)"]
    assert sr.data.shape == (192, 200) and sr.data.dtype == np.float32
    assert np.allclose(sr.scale, (0.25, 0.25)) and np.allclose(sr.translate, (10 - 0.125, 20 - 0.125))
    assert sr.colormap.name == "magma" and np.allclose(sr.contrast_limits, (0.1, 0.9))
    info = sr.metadata["dualsr"]
    assert info["steps"] == 300 and not info["stopped"] and info["source_layer"] == "cells"
    assert info["config"]["hr_crop"] == 64 and info["onnx_path"] is None
    assert kernel.data.shape == (13, 13) and np.isclose(kernel.data.sum(), 1, atol=1e-4)
    assert kernel.colormap.name == "inferno" and kernel.translate[1] > 20 + 100 * 0.5  # right of the image
    # the input layer is untouched
    assert layer.data is not None and viewer.layers["cells"].data is layer.data
    assert np.array_equal(layer.data, data) and layer.metadata == {"origin": "test"}
    assert widget.run_button.enabled and "done: 300/300 steps" in widget.status.value


def test_sample_then_train_without_touching_the_layer_list(make_napari_viewer, qtbot):
    """File > Open Sample, Plugins > DualSR, Train: the widget is on the degraded image."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-dualsr", "degraded_cell")
    assert viewer.layers.selection.active.name == "degraded tissue"
    viewer.layers.selection.active = viewer.layers["true kernel"]  # a layer the widget would refuse
    widget = open_widget(viewer, TRAIN)
    assert widget.image.value is viewer.layers["degraded tissue"]  # never the 13x13 kernel
    widget.iterations.value = 3
    start = len(notification_manager.records)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    assert errors_since(start) == [] and "done: 3/3 steps" in widget.status.value
    assert "degraded tissue ×2 (DualSR)" in [layer.name for layer in viewer.layers]


def test_the_default_layer_is_the_largest_one_the_widget_can_use(make_napari_viewer):
    viewer = make_napari_viewer()
    small = viewer.add_image(np.zeros((80, 80), np.float32), name="small")
    big = viewer.add_image(np.zeros((300, 200), np.float32), name="big")
    viewer.add_image(np.zeros((13, 13), np.float32), name="kernel")  # active, too small to train on
    train, apply = open_widget(viewer, TRAIN), open_widget(viewer, APPLY)
    assert train.image.value is big and apply.image.value.name == "kernel"  # apply has no minimum size
    viewer.layers.selection.active = small
    assert train.image.value is big  # 80 px is below the 84 the preset's patches can shrink to
    viewer.layers.selection.active = big
    viewer.layers.selection.active = viewer.layers["kernel"]
    assert train.image.value is big


def test_an_enlarged_layer_trains_with_a_warning(make_napari_viewer, qtbot):
    """A nearest-neighbour enlargement (every 2x2 block one value) is trained as asked, and napari says
    what it is and what to super-resolve instead; the layer is left as it was."""
    viewer = make_napari_viewer()
    native = (np.random.default_rng(5).random((90, 96)) * 250).astype(np.uint8)
    data = np.kron(native, np.ones((2, 2), np.uint8))
    layer = viewer.add_image(data.copy(), name="enlarged")
    widget = open_widget(viewer, TRAIN)
    widget.iterations.value = 2
    start = len(notification_manager.records)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    warnings = errors_since(start, "warning")
    assert errors_since(start) == [] and "done: 2/2 steps" in widget.status.value
    assert any("2x nearest-neighbour enlargement of a 96x90 image" in w for w in warnings), warnings
    info = viewer.layers["enlarged ×2 (DualSR)"].metadata["dualsr"]
    assert info["enlarged"] == {"factor": 2, "offset": [0, 0], "native_shape": [90, 96]}
    assert np.array_equal(layer.data, data)
