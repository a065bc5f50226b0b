"""The widgets in a real viewer (run under ``xvfb-run -a``): training, Stop, responsiveness, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from napari.utils.notifications import notification_manager
from qtpy.QtCore import QTimer

from conftest import textured
from napari_dualsr._apply_widget import ApplyWidget
from napari_dualsr._train_widget import TrainWidget

pytestmark = pytest.mark.gui
TINY = dict(hr_crop=64, lr_crop=32, up_features=16, dn_features=16, d_features=16)
TRAIN = "DualSR: train & super-resolve"
APPLY = "DualSR: apply ONNX model"


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests share a 2-core machine: one training thread avoids oversubscription stalls."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def open_widget(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget("napari-dualsr", name)
    return widget


def errors_since(start: int) -> list[str]:
    return [str(n.message) for n in notification_manager.records[start:] if n.severity == "error"]


def train_watching_the_event_loop(qtbot, widget) -> float:
    """Train with a 20 ms QTimer ticking; the longest gap between ticks until the worker returns.

    The one-time torch warm-up that starts with the widget is let finish first; adding
    the result layers (napari's own work, after the worker returned) is not counted.
    """
    qtbot.waitUntil(lambda: not widget.warm_up.is_alive(), timeout=60_000)
    ticks: list[float] = []
    returned: list[float] = []
    on_done = widget.runner.on_done
    widget.runner.on_done = lambda outcome: (returned.append(time.perf_counter()), on_done(outcome))
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=120_000)
    timer.stop()
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
    widget.iterations.value = 20
    assert widget.image.value is layer and widget.axes.value == "YX"

    gap = train_watching_the_event_loop(qtbot, widget)
    print(f"longest gap between 20 ms timer ticks while training: {gap * 1000:.0f} ms")
    assert gap < 0.2

    assert [lay.name for lay in viewer.layers] == ["cells", "cells ×2 (DualSR)", "cells kernel (DualSR)"]
    sr, kernel = viewer.layers[1], viewer.layers[2]
    assert sr.data.shape == (192, 200) and sr.data.dtype == np.float32
    assert np.allclose(sr.scale, (0.25, 0.25)) and np.allclose(sr.translate, (10 - 0.125, 20 - 0.125))
    assert sr.colormap.name == "magma" and np.allclose(sr.contrast_limits, (0.1, 0.9))
    info = sr.metadata["dualsr"]
    assert info["steps"] == 20 and not info["stopped"] and info["source_layer"] == "cells"
    assert info["config"]["hr_crop"] == 64 and info["onnx_path"] is None
    assert kernel.data.shape == (13, 13) and np.isclose(kernel.data.sum(), 1, atol=1e-4)
    assert kernel.colormap.name == "inferno" and kernel.translate[1] > 20 + 100 * 0.5  # right of the image
    # the input layer is untouched
    assert layer.data is not None and viewer.layers["cells"].data is layer.data
    assert np.array_equal(layer.data, data) and layer.metadata == {"origin": "test"}
    assert widget.run_button.enabled and "done: 20/20 steps" in widget.status.value


def test_stop_ends_training_and_keeps_the_result_so_far(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(textured((96, 100), seed=1), name="img")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 100_000
    widget.start()
    qtbot.waitUntil(lambda: len(widget.loss_plot.steps) > 0, timeout=60_000)  # the first losses (step 1)
    assert widget.stop_button.enabled and not widget.run_button.enabled
    widget.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)

    info = viewer.layers["img ×2 (DualSR)"].metadata["dualsr"]
    assert info["stopped"] and 1 <= info["steps"] < 100
    assert "stopped early" in widget.status.value
    assert widget.run_button.enabled and not widget.stop_button.enabled  # usable again


def test_closing_the_viewer_ends_a_running_training(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(textured((96, 100), seed=2), name="img")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 100_000
    widget.start()
    runner = widget.runner
    qtbot.waitUntil(lambda: runner.phase == "training", timeout=60_000)
    viewer.close()
    qtbot.waitUntil(lambda: not runner.running, timeout=60_000)
    assert runner.controls.cancel.is_set()


def test_bad_input_gives_a_notification_and_changes_nothing(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = open_widget(viewer, TRAIN)
    start = len(notification_manager.records)
    widget.start()  # no layer at all
    viewer.add_labels(np.zeros((200, 200), dtype=np.uint8), name="mask")
    widget.start()  # only a labels layer: not offered as an image
    small = viewer.add_image(np.ones((100, 100), dtype=np.uint16), name="small")
    widget.image.value = small
    widget.start()  # smaller than the default 148 px minimum: found by the core, on the worker
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    errors = errors_since(start)
    assert len(errors) == 3, errors
    assert "no image layer" in errors[0] and "no image layer" in errors[1]
    assert "at least 148x148" in errors[2]
    assert [lay.name for lay in viewer.layers] == ["mask", "small"]
    assert np.all(small.data == 1)


def test_a_line_profile_is_refused(make_napari_viewer, qtbot):
    """napari itself refuses 1D image layers; the closest a user gets is a 1-pixel-high image."""
    viewer = make_napari_viewer()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        viewer.add_image(np.linspace(0, 1, 300))
    line = viewer.add_image(np.linspace(0, 1, 300)[None], name="profile")
    widget = open_widget(viewer, TRAIN)
    start = len(notification_manager.records)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    assert "1x300 pixels" in errors_since(start)[0]
    assert [lay.name for lay in viewer.layers] == ["profile"] and line.data.shape == (1, 300)


def test_stack_training_exports_onnx_and_the_apply_widget_reuses_it(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    data = np.stack([textured((96, 100), seed=s) for s in range(3)]).astype(np.float32)
    stack = viewer.add_image(data, name="stack", scale=(3.0, 0.5, 0.5), translate=(1.0, 0.0, 0.0))
    viewer.dims.set_current_step(0, 2)  # plane z=2 on screen
    train = open_widget(viewer, TRAIN)
    train.config_overrides = TINY
    train.iterations.value = 10
    train.onnx.value = tmp_path / "stack.onnx"
    assert train.axes.value == "ZYX" and train.plane.value.startswith("Z=2")
    train.start()
    qtbot.waitUntil(lambda: not train.runner.running, timeout=120_000)

    sr, kernel = viewer.layers["stack ×2 (DualSR)"], viewer.layers["stack kernel (DualSR)"]
    assert sr.data.shape == (3, 192, 200) and np.allclose(sr.scale, (3.0, 0.25, 0.25))
    assert np.allclose(sr.translate, (1.0, -0.125, -0.125))
    assert sr.metadata["dualsr"]["plane"] == 2 and sr.metadata["dualsr"]["axes"] == "ZYX"
    assert sr.metadata["dualsr"]["onnx_path"] == str(tmp_path / "stack.onnx") == kernel.metadata["dualsr"]["onnx_path"]
    assert (tmp_path / "stack.onnx").is_file()

    apply = open_widget(viewer, APPLY)
    apply.model.value = tmp_path / "stack.onnx"
    apply.image.value = stack
    apply.tile.value = 64  # several tiles per plane
    apply.start()
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    again = viewer.layers[-1]
    assert again.name.startswith("stack ×2 (DualSR)") and again is not sr
    assert again.data.shape == sr.data.shape and again.data.dtype == np.float32
    assert np.allclose(again.scale, sr.scale) and np.allclose(again.translate, sr.translate)
    assert np.abs(again.data - sr.data).max() < 1e-3  # onnxruntime reproduces the torch result
    assert again.metadata["dualsr"]["onnx_path"] == str(tmp_path / "stack.onnx")
    assert "CPUExecutionProvider" in again.metadata["dualsr"]["providers"]
    assert np.array_equal(stack.data, data)

    count = len(viewer.layers)
    apply.start()
    apply.cancel_button.clicked.emit()  # cancelled before the first tile
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    assert len(viewer.layers) == count and apply.status.value == "cancelled"


def test_a_broken_onnx_file_gives_a_notification(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image = viewer.add_image(textured((64, 64)), name="img")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx model")
    apply = open_widget(viewer, APPLY)
    start = len(notification_manager.records)
    apply.start()  # no model chosen yet
    apply.model.value = broken
    apply.start()
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    errors = errors_since(start)
    assert len(errors) == 2 and "choose an .onnx model" in errors[0] and "broken.onnx" in errors[1]
    assert [lay.name for lay in viewer.layers] == ["img"] and image.data.shape == (64, 64)
