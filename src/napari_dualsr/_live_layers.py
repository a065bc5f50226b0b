"""The layers of one training run while it trains: the x2 image filling in tile by tile
(see ``_previews``; it starts as bicubic x2 where that is computed), its kernel, and the
bicubic x2 to compare with. When the run ends they become its result (or go, if it
failed), so Stop keeps what the user was looking at.

The layers are added empty when the run starts, before training competes for the CPU:
adding a layer is napari's slowest step (vispy builds its shaders), and during training
it would stall the viewer for as long as half a second. Updates then only write data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dualsr.inference.preview import clip_region

from ._jobs import Source, Trained, plane_on_screen
from ._layers import LayerData, add_layers, bicubic_layer, kernel_layer, trained_layers, upscaled_layer
from ._previews import Region, View
from ._workers import Update

PREVIEW_PIXELS = 1024 * 1024  # planes up to this many pixels are previewed whole; larger: the part in view


class LiveLayers:
    """Adds and refreshes a run's layers from its image updates (on the main thread)."""

    def __init__(self, viewer: Any, layer: Any, source: Source) -> None:
        self.viewer, self.layer, self.source = viewer, layer, source
        self.layout = source.layout
        self.sr: Any = None
        self.kernel: Any = None
        self.bicubic: Any = None
        self.doubt: Any = None

    def view(self) -> View:
        """The plane on screen and the part of it in view (at most ``PREVIEW_PIXELS``)."""
        plane = plane_on_screen(self.layer, self.viewer.dims.point, self.source.axes)
        flat = 0 if plane is None else self.layout.plane_index(plane)
        return View(flat, visible_region(self.viewer, self.layer, self.source.shape_yx))

    def prepare(self, preview: bool, compare: bool) -> None:
        """Add the layers the run will fill: bicubic x2 (``compare``), x2 and kernel (``preview``)."""
        if compare:
            self.bicubic = self._add(bicubic_layer(self.source, self._blank()))
        if preview:
            self.sr = self._add(upscaled_layer(self.source, self._blank(), self._metadata("x2 image (preview)")))
            flat = np.full((13, 13), 1 / 169)
            self.kernel = self._add(kernel_layer(self.source, flat, self._metadata("estimated kernel (preview)")))

    def _blank(self) -> np.ndarray:
        """Zeros shaped like the x2 result; pages never written take no memory."""
        return np.zeros(self.layout.scaled_shape(2), dtype=np.dtype(getattr(self.source.data, "dtype", float)))

    def show(self, update: Update) -> None:
        """Put a "bicubic" or "preview" update's image where it belongs."""
        if update.phase == "bicubic":
            self.bicubic = self._put(self.bicubic, bicubic_layer(self.source, update.image))
            if self._present(self.sr) and "preview_step" not in self.sr.metadata["dualsr"]:
                self.sr.data[...] = update.image  # tiles not previewed yet show bicubic, not black
                self.sr.refresh()
            return
        if not self._present(self.sr):
            self.sr = self._add(upscaled_layer(self.source, self._blank(), self._metadata("x2 image (preview)")))
        self.sr.data[self.layout.plane_key(update.view.plane, update.view.region, factor=2)] = update.image
        self.sr.metadata["dualsr"]["preview_step"] = update.done
        self.sr.refresh()
        if update.kernel is not None:
            kernel = kernel_layer(self.source, update.kernel, self._metadata("estimated kernel (preview)"))
            self.kernel = self._put(self.kernel, kernel)

    def finish(self, trained: Trained) -> None:
        """The run's result replaces the previews in the same layers (added if there are none)."""
        sr, kernel, *doubt = trained_layers(self.source, trained)
        self.sr, self.kernel = self._put(self.sr, sr), self._put(self.kernel, kernel)
        self.doubt = self._add(doubt[0]) if doubt else None

    def discard(self) -> None:
        """A failed or cancelled run leaves no layers."""
        for layer in (self.sr, self.kernel, self.bicubic):
            if self._present(layer):
                self.viewer.layers.remove(layer)
        self.sr = self.kernel = self.bicubic = None

    def _metadata(self, role: str) -> dict[str, Any]:
        return {"source_layer": self.source.name, "role": role}

    def _present(self, layer: Any) -> bool:
        return layer is not None and layer in self.viewer.layers

    def _add(self, layer_data: LayerData) -> Any:
        return add_layers(self.viewer, [layer_data])[0]

    def _put(self, layer: Any, layer_data: LayerData) -> Any:
        """``layer`` with new data, metadata and contrast; a new layer if it is gone or changes rank."""
        data, kwargs, _ = layer_data
        if not self._present(layer):
            return self._add(layer_data)
        if np.ndim(layer.data) != np.ndim(data):  # per-channel kernels (G, n, n) at the end
            self.viewer.layers.remove(layer)
            return self._add(layer_data)
        layer.data = data
        layer.metadata = kwargs["metadata"]
        if "contrast_limits" in kwargs:
            layer.contrast_limits = kwargs["contrast_limits"]
        return layer


def visible_region(viewer: Any, layer: Any, shape_yx: tuple[int, int], limit: int = PREVIEW_PIXELS) -> Region:
    """Input pixels in view: at most ``limit`` of them, around the view's centre."""
    h, w = shape_yx
    size = np.asarray(_canvas_size(viewer), dtype=float) / viewer.camera.zoom  # world units
    centre = np.asarray(viewer.camera.center[-2:], dtype=float)
    point = np.asarray(viewer.dims.point, dtype=float)
    corners = []
    for corner in (centre - size / 2, centre + size / 2):
        point[-2:] = corner
        corners.append(layer.world_to_data(point[-layer.ndim :])[-2:])
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    side = np.minimum(np.ceil(high - low).astype(int) + 2, math.isqrt(limit))
    (y0, x0) = np.round((low + high) / 2 - side / 2).astype(int)
    return clip_region((y0, y0 + side[0], x0, x0 + side[1]), h, w)


def _canvas_size(viewer: Any) -> tuple[int, int]:
    """The canvas in screen pixels, (height, width): ``viewer.canvas.size`` from napari 0.6."""
    canvas = getattr(viewer, "canvas", None)
    return tuple(canvas.size) if canvas is not None else tuple(viewer._canvas_size)
