"""Results as napari layers: the x2 image on the input's grid, the kernel beside it, the doubt map."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dualsr.trust.doubt import DOUBT_LEVEL

from ._jobs import Applied, Source, Trained
from ._placement import beside_placement, upscaled_placement

LayerData = tuple[Any, dict[str, Any], str]


def upscaled_layer(
    source: Source, image: np.ndarray, metadata: dict[str, Any], factor: int = 2, method: str = "DualSR"
) -> LayerData:
    """``<name> ×2 (DualSR)``: pixel centres on the input's, the input's look."""
    scale, translate = upscaled_placement(source.scale, source.translate, source.spatial, factor, source.orientation)
    kwargs = {
        **source.style,
        **source.orientation,
        "name": f"{source.name} ×{factor} ({method})",
        "scale": scale,
        "translate": translate,
        "rgb": source.rgb,
        "metadata": {"dualsr": metadata},
    }
    return image, kwargs, "image"


def kernel_layer(source: Source, kernel: np.ndarray, metadata: dict[str, Any]) -> LayerData:
    """``<name> kernel (DualSR)``: the estimated kernel, magnified, right of the data.

    A per-channel estimate ``(G, n, n)`` stays a small stack whose first dim lines up
    with the channel slider for the usual ``CYX``/``ZCYX`` orders.
    """
    scale, translate = beside_placement(source.shape_yx, source.scale[-2:], source.translate[-2:], kernel.shape[-1])
    lead = slice(len(source.scale) - kernel.ndim, -2)  # the dims a (G, n, n) estimate lines up with
    kwargs = {
        "name": f"{source.name} kernel (DualSR)",
        "scale": source.scale[lead] + scale,
        "translate": source.translate[lead] + translate,
        "colormap": "inferno",
        "contrast_limits": (0.0, float(kernel.max()) or 1.0),
        "blending": "translucent_no_depth",
        "metadata": {"dualsr": {**metadata, "kernel_pixel": "HR pixel (input pixel / 2)"}},
    }
    return kernel.astype(np.float32), kwargs, "image"


def trained_layers(source: Source, trained: Trained) -> list[LayerData]:
    """The two layers a training adds, both recording the run in their metadata."""
    result = trained.result
    metadata = {
        **result.summary(),
        "source_layer": source.name,
        "onnx_path": str(trained.onnx_path) if trained.onnx_path else None,
    }
    layers = [
        upscaled_layer(source, result.image, {**metadata, "role": "x2 image"}),
        kernel_layer(source, np.asarray(result.kernel), {**metadata, "role": "estimated kernel"}),
    ]
    if result.doubt is not None:
        layers.append(doubt_layer(source, result.doubt, {**metadata, "role": "doubt map"}))
    return layers


def doubt_layer(source: Source, doubt: np.ndarray, metadata: dict[str, Any]) -> LayerData:
    """``<name> doubt (DualSR)``: on the x2's grid and placement, hidden until asked for (it would cover
    the x2). The map has no channel axis (the channels' largest doubt): a channel dim of the layer sees
    the same map on every channel (a broadcast view, no copy)."""
    scale, translate = upscaled_placement(source.scale, source.translate, source.spatial, 2, source.orientation)
    if "C" in source.layer_axes:
        c = source.layer_axes.index("C")
        shape = list(np.shape(doubt))
        shape.insert(c, np.shape(source.data)[source.axes.index("C")])
        doubt = np.broadcast_to(np.expand_dims(doubt, c), tuple(shape))
    top = float(np.quantile(doubt, 0.99)) if doubt.size else 0.0
    kwargs = {
        **source.orientation,
        "name": f"{source.name} doubt (DualSR)",
        "scale": scale,
        "translate": translate,
        "colormap": "magma",
        "contrast_limits": (0.0, max(top, 2 * DOUBT_LEVEL)),
        "opacity": 0.7,
        "visible": False,
        "metadata": {"dualsr": {**metadata, "unit": "fraction of the image's intensity range", "level": DOUBT_LEVEL}},
    }
    return doubt, kwargs, "image"


def bicubic_layer(source: Source, image: np.ndarray) -> LayerData:
    """``<name> ×2 (bicubic)``: the baseline, placed and styled exactly as the DualSR layer."""
    metadata = {"source_layer": source.name, "role": "bicubic x2 (to compare with)"}
    return upscaled_layer(source, image, metadata, method="bicubic")


def applied_layers(source: Source, applied: Applied) -> list[LayerData]:
    """The layer an applied model adds, recording the model in its metadata."""
    metadata = {**applied.metadata, "source_layer": source.name, "role": "x2 image"}
    return [upscaled_layer(source, applied.image, metadata)]


def image_layers(viewer: Any) -> list[tuple[str, Any]]:
    """(name, layer) of the viewer's Image layers, for the widgets' layer choosers."""
    from napari.layers import Image

    return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image)]


def follow_active(viewer: Any, chooser: Any, fits: Callable[[Any], bool], keep: bool = True) -> None:
    """Point a layer chooser at the active layer if the widget can use it; else keep a usable
    choice (``keep``) or take the default: never a layer the widget would refuse (a 13x13
    kernel, its own result)."""
    active = viewer.layers.selection.active
    if _candidate(active) and fits(active):
        chooser.value = active
        return
    kept = keep and _candidate(chooser.value) and fits(chooser.value)
    if not kept and (best := default_layer(viewer, fits)) is not None:
        chooser.value = best


def default_layer(viewer: Any, fits: Callable[[Any], bool]) -> Any:
    """The largest image layer the widget can use, visible ones first; None if there is none."""
    usable = [layer for _, layer in image_layers(viewer) if _candidate(layer) and fits(layer)]
    return max(usable, key=lambda layer: (layer.visible, np.prod(layer.data.shape)), default=None)


def _candidate(layer: Any) -> bool:
    """An Image layer that this plugin did not add."""
    from napari.layers import Image

    return isinstance(layer, Image) and "dualsr" not in layer.metadata


def add_layers(viewer: Any, layers: list[LayerData]) -> list[Any]:
    """Add layer-data tuples to ``viewer``; returns the new layers."""
    from napari.layers import Layer

    return [viewer.add_layer(Layer.create(data, kwargs, kind)) for data, kwargs, kind in layers]
