"""Jobs: what the plugin asks the core to do, taken from napari layers up front.

A job holds plain data only (the layer's array, its axes, placement and style, the
config), so the worker thread never reads a layer or touches Qt, and a script can
build the same job the widget builds (see ``examples/scripted_napari.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import dualsr
from dualsr.config import DualSRConfig, preset
from dualsr.engine.loop import StepInfo
from dualsr.errors import DualSRInputError
from dualsr.io.acquisition import Instrument, microns
from dualsr.io.axes import Layout, Planes
from dualsr.io.files import read_kernel

from ._placement import orientation_of

# Axis orders offered per (layer ndim, rgb); the first is the default. napari shows the
# last two dims, so Y and X always end the layer's own dims.
AXES_CHOICES: dict[tuple[int, bool], tuple[str, ...]] = {
    (2, False): ("YX",),
    (3, False): ("ZYX", "TYX", "CYX"),
    (4, False): ("TZYX", "ZCYX", "CZYX", "TCYX"),
    (5, False): ("TZCYX", "TCZYX"),
    (2, True): ("YXC",),
    (3, True): ("ZYXC", "TYXC"),
    (4, True): ("TZYXC",),
}
STYLE = ("colormap", "contrast_limits", "gamma", "blending", "opacity", "units", "axis_labels")


def axes_choices(layer: Any) -> tuple[str, ...]:
    """Axis orders that fit ``layer`` (napari's ndim excludes an RGB channel axis)."""
    if layer is None:
        return ("YX",)
    return AXES_CHOICES.get((layer.ndim, bool(getattr(layer, "rgb", False))), ())


@dataclass(frozen=True)
class Source:
    """The input layer as plain data: its array (read, never written), axes, placement, style."""

    name: str
    data: Any
    axes: str
    rgb: bool
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    style: dict[str, Any]
    orientation: dict[str, Any] = field(default_factory=dict)  # rotate, shear, affine where not the identity

    @property
    def layer_axes(self) -> str:
        """Axes of napari's layer dims: an RGB layer's channel axis is not a dim."""
        return self.axes[:-1] if self.rgb else self.axes

    @property
    def spatial(self) -> tuple[int, ...]:
        """Layer dims that get x2 (Y and X)."""
        return tuple(i for i, a in enumerate(self.layer_axes) if a in "YX")

    @property
    def layout(self) -> Layout:
        return Layout.of(np.shape(self.data), self.axes)

    @property
    def shape_yx(self) -> tuple[int, int]:
        shape = np.shape(self.data)
        return shape[self.axes.index("Y")], shape[self.axes.index("X")]


def source_of(layer: Any, axes: str | None = None, full_resolution: bool = False) -> Source:
    """Check that ``layer`` is something DualSR can work on and capture it as a ``Source``.

    ``full_resolution``: a multiscale layer (an OME-Zarr opened by napari-ome-zarr) gives
    its full-resolution level, lazily, instead of being refused.
    """
    from napari.layers import Image

    if layer is None:
        raise DualSRInputError("there is no image layer; open an image or File > Open Sample > DualSR first")
    if not isinstance(layer, Image):
        raise DualSRInputError(f"layer {layer.name!r} is a {type(layer).__name__} layer; choose an Image layer")
    if layer.multiscale and not full_resolution:
        raise DualSRInputError(
            f"layer {layer.name!r} is multiscale; use DualSR: apply ONNX model with an output Zarr, or open its "
            "full-resolution level as an image"
        )
    choices = axes_choices(layer)
    if not choices:
        raise DualSRInputError(
            f"layer {layer.name!r} is {layer.ndim}D; DualSR needs a 2D image or a stack of 2D planes (2D to 5D)"
        )
    axes = (axes or choices[0]).upper()
    if axes not in choices:
        raise DualSRInputError(f"axes {axes!r} do not fit layer {layer.name!r}; use one of {', '.join(choices)}")
    style = {k: getattr(layer, k) for k in STYLE if hasattr(layer, k)}
    if layer.rgb:
        style.pop("colormap", None)
    return Source(
        name=layer.name,
        data=layer.data[0] if layer.multiscale else layer.data,
        axes=axes,
        rgb=bool(layer.rgb),
        scale=tuple(float(s) for s in layer.scale),
        translate=tuple(float(t) for t in layer.translate),
        style=style,
        orientation=orientation_of(layer),
    )


def usable(layer: Any, min_side: int = 0) -> bool:
    """Whether ``source_of`` accepts ``layer`` and its planes are at least ``min_side`` pixels."""
    try:
        return min(source_of(layer).shape_yx) >= min_side
    except DualSRInputError:
        return False


def plane_on_screen(layer: Any, world_point: Sequence[float], axes: str) -> tuple[int, ...] | None:
    """Index (one per stack axis such as Z or T) of the plane the viewer shows; None for 2D."""
    layer_axes = axes[:-1] if getattr(layer, "rgb", False) else axes
    stack = [i for i, a in enumerate(layer_axes) if a not in "CYX"]
    if not stack:
        return None
    position = layer.world_to_data(np.asarray(world_point)[-layer.ndim :])
    shape = layer.data.shape
    return tuple(int(np.clip(np.round(position[i]), 0, shape[i] - 1)) for i in stack)


def describe_plane(axes: str, plane: tuple[int, ...] | None) -> str:
    """``Z=12, T=0`` for labels and notifications."""
    if plane is None:
        return "the whole image"
    stack = [a for a in axes if a not in "CYX"]
    return ", ".join(f"{a}={i}" for a, i in zip(stack, plane))


def load_kernel(kernel: Any) -> np.ndarray | None:
    """A known kernel from an Image layer, a file (.npy/.tif/.png) or an array; None stays None."""
    if kernel is None or (isinstance(kernel, (str, os.PathLike)) and str(kernel) in ("", ".")):
        return None
    if isinstance(kernel, (str, os.PathLike)):
        return read_kernel(kernel)
    return np.asarray(getattr(kernel, "data", kernel), dtype=np.float64)


def onnx_target(path: str | os.PathLike | None) -> Path | None:
    """Where to export the model; checked now so a typo doesn't cost a training."""
    return output_target(path, ".onnx", "ONNX export")


def output_target(path: str | os.PathLike | None, suffix: str, what: str) -> Path | None:
    """A file or folder to write later, e.g. the ``what`` = "ONNX export": its name and folder checked now."""
    if path is None or str(path) in ("", "."):
        return None
    target = Path(path).expanduser()
    if target.suffix.lower() != suffix:
        raise DualSRInputError(f"the {what} path {str(target)!r} must end in {suffix}")
    if not target.parent.is_dir():
        raise DualSRInputError(f"the folder {str(target.parent)!r} for the {what} does not exist; create it first")
    if not os.access(target.parent, os.W_OK):
        raise DualSRInputError(f"the folder {str(target.parent)!r} for the {what} is not writable; choose another")
    return target


@dataclass(frozen=True)
class TrainJob:
    """One training: the source, the config and where the result goes."""

    source: Source
    config: DualSRConfig
    device: str = "auto"
    plane: Planes = None  # one plane (a stack index), several (a list or range), or "all"
    known_kernel: np.ndarray | None = None
    onnx_path: Path | None = None
    compare: bool = False  # also make the bicubic x2, to compare with
    instrument: Instrument | None = None  # pixel size (from the layer's scale and units) and optics
    doubt: bool = True  # also map where the x2 may not be what the data support (one more pass, no training)


def instrument_of(layer: Any, numerical_aperture: float = 0.0, wavelength: float = 0.0) -> Instrument | None:
    """What recorded ``layer``: its pixel size where its Y/X units are lengths, optics from its metadata
    (``metadata["instrument"]``, as the samples and our reader put them) or given (0: unknown)."""
    pixel = None
    units = getattr(layer, "units", None)
    if units is not None:
        sizes = [microns(float(s), _unit_name(u)) for s, u in zip(layer.scale[-2:], units[-2:])]
        pixel = sum(sizes) / 2 if None not in sizes else None
    known = (getattr(layer, "metadata", None) or {}).get("instrument") or {}
    na = numerical_aperture or known.get("numerical_aperture")
    em = wavelength or known.get("wavelength")
    if pixel is None and not na and not em:
        return None
    return Instrument(pixel, na or None, em or None, known.get("immersion_index"), "napari")


def _unit_name(unit: Any) -> str:
    """pint's long names (``micrometer``) as the short ones ``io.acquisition.microns`` knows."""
    text = str(unit)
    return {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm"}.get(text, text)


def train_job(
    layer: Any,
    *,
    preset_name: str = "fast",
    iterations: int | None = None,
    seed: int = 0,
    device: str = "auto",
    axes: str | None = None,
    plane: Planes = None,
    known_kernel: Any = None,
    onnx_path: str | os.PathLike | None = None,
    compare: bool = False,
    instrument: Instrument | None = None,
    doubt: bool = True,
    **config_overrides: Any,
) -> TrainJob:
    """Everything one widget run needs, checked before any thread starts.

    ``config_overrides`` are ``DualSRConfig`` fields (e.g. ``hr_crop`` for small images).
    """
    source = source_of(layer, axes)
    config = preset(preset_name, iterations=iterations, seed=seed, **config_overrides)
    kernel, onnx = load_kernel(known_kernel), onnx_target(onnx_path)
    return TrainJob(source, config, device, plane, kernel, onnx, compare, instrument, doubt)


@dataclass
class Trained:
    """What a training run hands back: the core's result and the exported model, if any."""

    result: dualsr.DualSRResult
    onnx_path: Path | None = None


def run_train(
    job: TrainJob,
    progress: Callable[[StepInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    apply_progress: Callable[[int, int], None] | None = None,
    export_progress: Callable[[int, int], None] | None = None,
) -> Trained:
    """Train, super-resolve every plane, export ONNX if asked: the core API, nothing else."""
    result = dualsr.train(
        job.source.data,
        axes=job.source.axes,
        config=job.config,
        plane=job.plane,
        known_kernel=job.known_kernel,
        device=job.device,
        progress=progress,
        should_stop=should_stop,
        apply_progress=apply_progress,
        instrument=job.instrument,
        doubt=job.doubt,
    )
    if job.onnx_path is None:
        return Trained(result)
    from dualsr.runtime.onnx_export import export_onnx

    if export_progress:
        export_progress(0, 1)
    path = export_onnx(result, job.onnx_path)
    if export_progress:
        export_progress(1, 1)
    return Trained(result, Path(path))


@dataclass(frozen=True)
class ApplyJob:
    """Re-applying an exported model to a layer (every plane, tiled).

    With ``output`` (a ``.zarr``) the result is written there block by block and shown
    as it fills, the plane on screen (flat index ``plane``) first: for layers that do
    not fit in memory (dask or Zarr data), which are never read whole.
    """

    source: Source
    model: Path
    device: str = "auto"
    tile: int = 512
    output: Path | None = None
    plane: int | None = None
    pixel_size: float | None = None  # um, from the layer's scale and units: the resolution in the sample's units


def apply_job(
    layer: Any,
    model: str | os.PathLike | None,
    *,
    axes: str | None = None,
    device: str = "auto",
    tile: int = 512,
    output: str | os.PathLike | None = None,
    plane: int | None = None,
) -> ApplyJob:
    """Everything one apply run needs, checked before any thread starts."""
    source = source_of(layer, axes, full_resolution=True)
    if model is None or str(model) in ("", "."):
        raise DualSRInputError("choose an .onnx model file (export one with DualSR: train & super-resolve)")
    path = Path(model).expanduser()
    if not path.is_file():
        raise DualSRInputError(f"the model file {str(path)!r} does not exist")
    target = output_target(output, ".zarr", "output Zarr")
    if target is None and not isinstance(source.data, np.ndarray):
        size = np.prod(np.shape(source.data)) * np.dtype(source.data.dtype).itemsize / 2**30
        raise DualSRInputError(
            f"layer {source.name!r} is not in memory ({type(source.data).__name__}, {size:.1f} GB): choose an "
            "output .zarr; the x2 result is written there block by block and shown as it fills"
        )
    instrument = instrument_of(layer)
    return ApplyJob(source, path, device, tile, target, plane, instrument.pixel_size if instrument else None)


@dataclass
class Applied:
    """An applied model's x2 image and what the model file says about itself."""

    image: np.ndarray
    metadata: dict[str, Any]


def run_apply(
    job: ApplyJob,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Applied:
    """Open the model with onnxruntime and x2 every plane of the source."""
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    upsampler = OnnxUpsampler(job.model, device=job.device)
    image = upsampler.upsample(
        job.source.data, axes=job.source.axes, tile=job.tile, progress=progress, should_stop=should_stop
    )
    metadata = {"onnx_path": str(job.model), "providers": list(upsampler.providers), "model": upsampler.metadata}
    resolution = applied_resolution(job, image)
    return Applied(image, {**metadata, **({"resolution": resolution} if resolution else {})})


def applied_resolution(job: ApplyJob, image: np.ndarray) -> dict[str, Any] | None:
    """The resolution before and after (:mod:`dualsr.trust`) of the plane on screen (else the first)."""
    from dualsr.trust.readout import plane_resolution

    before, after = job.source.layout, Layout.of(np.shape(image), job.source.axes)
    index = job.plane if job.plane is not None and job.plane < before.planes else 0
    lr = before.canonical(np.asarray(job.source.data))[index]
    return plane_resolution(lr, after.canonical(image)[index], job.pixel_size)
