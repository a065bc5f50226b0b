"""The apply widget on a dask-backed layer (under ``xvfb-run -a``): lazy, responsive, exact, resumable."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr
from dask.callbacks import Callback

from conftest import textured
from dualsr.runtime.onnx_runtime import OnnxUpsampler
from plugin_helpers import APPLY, errors_since, open_widget, responsive_bound, ticks_while

pytestmark = [pytest.mark.gui]


def dask_stack(path, planes=6, side=256, chunk=64):
    """A ZYX uint16 stack on disk as Zarr, opened as a dask array (napari's lazy layer data)."""
    data = np.stack([(textured((side, side), seed=s) * 40000 + 300).astype(np.uint16) for s in range(planes)])
    z = zarr.create_array(path, shape=data.shape, chunks=(1, chunk, chunk), dtype=data.dtype)
    z[:] = data
    return data, da.from_zarr(str(path))


class ChunksPerCompute(Callback):
    """The largest number of ``array``'s chunks one dask compute touched (any thread)."""

    def __init__(self, array) -> None:
        super().__init__()
        self.name, self.most = array.name, 0

    def _start_state(self, dsk, state) -> None:
        self.most = max(self.most, sum(1 for k in dsk if isinstance(k, tuple) and k[0] == self.name))


def test_a_dask_layer_fills_a_zarr_layer_lazily_exactly_and_responsively(
    make_napari_viewer, qtbot, onnx_model, tmp_path
):
    from napari.utils.notifications import notification_manager

    _, model = onnx_model("grey16")
    data, lazy = dask_stack(tmp_path / "in.zarr")
    viewer = make_napari_viewer()
    viewer.add_image(lazy, name="stack", scale=(2.0, 0.5, 0.5), contrast_limits=(0, 45000))
    viewer.dims.set_point(0, 2 * 4)  # plane 4 on screen: it is done first
    widget = open_widget(viewer, APPLY)
    widget.model.value, widget.axes.value, widget.tile.value = model, "ZYX", 64
    start = len(notification_manager.records)
    widget.start()  # no output Zarr for a dask layer: one notification, nothing runs
    assert not widget.runner.running and "choose an output .zarr" in errors_since(start)[0]

    widget.output.value = tmp_path / "x2.zarr"
    bound = responsive_bound(qtbot)
    with ChunksPerCompute(lazy) as watch:  # the x2 layer is added at once: napari's own work, before the first tick
        ticks = ticks_while(qtbot, widget.start, lambda: widget.runner.running)
    assert len(ticks) > 20
    gap = float(np.max(np.diff(ticks)))
    print(f"longest gap between 20 ms timer ticks while the lazy layer filled: {gap * 1000:.0f} ms")
    assert gap < bound, (gap, bound)
    assert watch.most <= 16  # one plane (napari shows it) at most; a block reads <= 9 (with its margins)
    assert [lay.name for lay in viewer.layers] == ["stack", "stack ×2 (DualSR)"]
    x2 = viewer.layers[1]
    assert isinstance(x2.data, zarr.Array) and x2.data.shape == (6, 512, 512)
    assert np.allclose(x2.scale, (2.0, 0.25, 0.25)) and widget.status.value == "done"
    assert np.array_equal(x2.data[:], OnnxUpsampler(model).upsample(data, axes="ZYX"))


def test_an_ome_zarr_opened_by_its_reader_plugin_cancels_and_resumes(make_napari_viewer, qtbot, onnx_model, tmp_path):
    """napari-ome-zarr opens it as a multiscale layer; the widget reads its full-resolution level."""
    from test_scale_cli import ome_zarr

    _, model = onnx_model("grey16")
    data = np.stack([(textured((192, 192), seed=s) * 40000 + 300).astype(np.uint16) for s in range(3)])
    viewer = make_napari_viewer()
    [layer] = viewer.open(ome_zarr(tmp_path / "in.ome.zarr", data, "0.5"), plugin="napari-ome-zarr")
    assert layer.multiscale and not isinstance(layer.data[0], np.ndarray)  # lazy: dask over Zarr
    widget = open_widget(viewer, APPLY)
    widget.model.value, widget.axes.value, widget.tile.value = model, "ZYX", 64
    widget.output.value = out = tmp_path / "x2.zarr"
    on_update = widget.runner.on_update

    def cancel_after_the_first_blocks(update) -> None:
        on_update(update)
        if update.phase == "super-resolving" and update.done >= 2:
            widget.runner.cancel()

    widget.runner.on_update = cancel_after_the_first_blocks
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    assert widget.status.value.startswith("cancelled")
    assert 2 <= len([p for p in (out / "c").rglob("*") if p.is_file()]) < 27
    widget.runner.on_update = on_update
    widget.start()  # resumes into the same output and the same layer
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    assert widget.status.value == "done" and len(viewer.layers) == 2
    assert np.array_equal(viewer.layers[1].data[:], OnnxUpsampler(model).upsample(data, axes="ZYX"))
