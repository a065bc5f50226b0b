"""What the viewer shows mid-training is what the core previews (under ``xvfb-run -a``).

For every path (noise model on with the guided or the plain G_UP, noise-free; uint8, uint16,
float; grey, RGB, independent channels; a stack) the x2 layer's tile after the first preview
must equal ``StepInfo.preview`` of the same region at the same step, computed again on the
training thread right after the widget's (within 1 LSB), and the last preview of a finished
run must equal the final pass there. On both bundled samples the first tile must look like
bicubic there (mean within 3 %, no pixel pinned at the dtype's maximum that bicubic lacks).
"""

from __future__ import annotations

import numpy as np
import pytest

import dualsr
import napari_dualsr._workers as workers
from conftest import textured
from plugin_helpers import TINY, TRAIN, open_widget

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("single_torch_thread")]


def _photons(image: np.ndarray, peak: float, seed: int = 0) -> np.ndarray:
    """``image`` in [0, 1] under shot noise with ``peak`` photons at full scale, in [0, 1]."""
    return np.random.default_rng(seed).poisson(image * peak) / peak


def _grey(seed: int = 0) -> np.ndarray:
    return textured((96, 100), seed=seed)


PATHS = {
    # name: (image, widget overrides); the noise model is forced where it matters
    "uint16 noisy, guided G_UP": (
        (_photons(_grey(), 300) * 40000 + 3000).clip(0, 65535).astype(np.uint16),
        dict(noise="on", noise_guide=True),
    ),
    "uint16 noisy, plain G_UP": (
        (_photons(_grey(), 300) * 40000 + 3000).clip(0, 65535).astype(np.uint16),
        dict(noise="on", noise_guide=False),
    ),
    "uint8 clean": ((_grey() * 250).astype(np.uint8), dict(noise="off")),
    "float32 clean": ((_grey() * 7.5 - 2).astype(np.float32), dict(noise="off")),
    "RGB uint8 noisy, guided": (
        (np.stack([_photons(_grey(s), 500, s) for s in range(3)], -1).clip(0, 1) * 255).astype(np.uint8),
        dict(noise="on", noise_guide=True),
    ),
    "two channels float32": (np.stack([_grey(1), 3 * _grey(2)]).astype(np.float32), dict(noise="off")),
    "Z stack uint16": (np.stack([(_grey(s) * 30000 + 500).astype(np.uint16) for s in range(3)]), dict(noise="off")),
}
AXES = {"two channels float32": "CYX", "Z stack uint16": "ZYX"}


def _instrument(monkeypatch):
    """Record, for every preview the widget shows, the core's preview of the same tile at the same step."""
    recorded = {}
    original = workers.preview_step

    def preview_step(s, clock):
        shown = original(s, clock)
        if shown is not None:
            view = shown[1]
            recorded[(s.step, view)] = s.preview(region=view.region, plane=view.plane)
        return shown

    monkeypatch.setattr(workers, "preview_step", preview_step)
    return recorded


def _train(qtbot, viewer, layer, overrides, iterations, previews=1):
    """Run the train widget on ``layer``; stop after ``previews`` previews (0: run to the end).

    Returns the widget and, per preview shown, ``(step, view, copy of the layer's tile)``.
    """
    widget = open_widget(viewer, TRAIN)
    widget.image.value = layer
    if layer.ndim == 3 and not layer.rgb:
        widget.axes.value = AXES.get(layer.name, "ZYX")
    widget.config_overrides = {**TINY, **overrides}
    widget.iterations.value = iterations
    widget.preview_every = 0.0
    widget.preview_budget = 1.0  # a preview at every report: the last one sees the final model
    layout = layer_layout(layer, widget.axes.value)
    shown = []
    on_update = widget.runner.on_update

    def update(u):
        on_update(u)
        if u.phase == "preview":
            tile = np.array(widget._live.sr.data[layout.plane_key(u.view.plane, u.view.region, factor=2)])
            shown.append((u.done, u.view, tile))
            if previews and len(shown) >= previews:
                widget.runner.controls.stop.set()

    widget.runner.on_update = update
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=180_000)
    assert shown, "no preview was shown"
    return widget, shown


def layer_layout(layer, axes):
    from dualsr.io.axes import Layout

    return Layout.of(np.shape(layer.data), axes)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal within 1 LSB (integers) or 1e-5 of the range (floats)."""
    assert a.shape == b.shape and a.dtype == b.dtype
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    tolerance = 1.0 if np.issubdtype(a.dtype, np.integer) else 1e-5 * max(float(np.ptp(b)), 1e-6)
    assert diff.max() <= tolerance, f"max difference {diff.max()} > {tolerance}"


@pytest.mark.parametrize("path", list(PATHS))
def test_the_first_preview_in_the_viewer_is_the_core_preview(make_napari_viewer, qtbot, monkeypatch, path):
    recorded = _instrument(monkeypatch)
    image, overrides = PATHS[path]
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name=path, rgb=image.ndim == 3 and image.shape[-1] == 3)
    widget, shown = _train(qtbot, viewer, layer, overrides, iterations=40)
    step, view, tile = shown[0]
    _close(tile, recorded[(step, view)])
    assert tile.any()  # the preview was written, not the blank layer


def test_the_last_preview_is_the_final_pass_there(make_napari_viewer, qtbot, monkeypatch):
    recorded = _instrument(monkeypatch)
    image, overrides = PATHS["uint16 noisy, guided G_UP"]
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="noisy")
    widget, shown = _train(qtbot, viewer, layer, overrides, iterations=20, previews=0)
    step, view, tile = shown[-1]
    assert step == 20
    _close(tile, recorded[(step, view)])
    final = viewer.layers["noisy ×2 (DualSR)"].data
    y0, y1, x0, x1 = view.region
    _close(tile, final[2 * y0 : 2 * y1, 2 * x0 : 2 * x1])


@pytest.mark.parametrize("key, name", [("degraded_cell", "degraded tissue"), ("noisy_tissue", "noisy tissue")])
def test_the_first_preview_of_a_bundled_sample_looks_like_bicubic_there(make_napari_viewer, qtbot, key, name):
    """The defaults (``fast``, noise ``auto``: on for both samples, guided G_UP), as a user runs them."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-dualsr", key)
    layer = viewer.layers[name]
    widget = open_widget(viewer, TRAIN)
    assert widget.image.value is layer and widget.preset.value == "fast"
    widget.preview_every = 0.0
    shown = []
    on_update = widget.runner.on_update

    def update(u):
        on_update(u)
        if u.phase == "preview" and not shown:
            y0, y1, x0, x1 = u.view.region
            shown.append((u.view, np.array(widget._live.sr.data[2 * y0 : 2 * y1, 2 * x0 : 2 * x1])))
            widget.runner.controls.stop.set()

    widget.runner.on_update = update
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=180_000)
    (view, tile) = shown[0]
    y0, y1, x0, x1 = view.region
    bicubic = dualsr.bicubic_x2(layer.data)[2 * y0 : 2 * y1, 2 * x0 : 2 * x1]
    print(f"{name}: first tile {view.region} mean {tile.mean():.0f}, bicubic {bicubic.mean():.0f}")
    assert abs(tile.mean() / bicubic.mean() - 1) < 0.03
    top = np.iinfo(tile.dtype).max
    assert not np.any((tile == top) & (bicubic < top))  # nothing pinned at white that bicubic does not have
    assert viewer.layers[f"{name} ×2 (DualSR)"].metadata["dualsr"]["noise"]["active"]
