"""Run an exported upsampler with onnxruntime: any image from the same instrument, fast.

``OnnxUpsampler(path, device).upsample(image, axes=..., tile=..., progress=..., should_stop=...)``
does what :func:`dualsr.engine.train.upsample` does with the torch model -- refit the file's
normalisation *mode* on the new image, infer in exact tiles, restore range and dtype,
every plane -- but needs only numpy and onnxruntime at run time. Out of memory on a
GPU, tiles shrink, then the image is rerun on the CPU (``dualsr.inference.tiling``). Memory stays bounded
on very large images: tiles are normalised on the fly and written straight back in the
image's dtype, so the only full-size arrays are the input and the output.
"""

from __future__ import annotations

import ctypes.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from dualsr.errors import Cancelled, DualSRInputError
from dualsr.inference.tiling import MARGIN, cpu_fallback, upsample_planes
from dualsr.io.axes import Layout
from dualsr.io.normalize import Normalization, fit_normalization
from dualsr.io.validate import check_image
from dualsr.runtime.onnx_export import FORMAT_KEY, FORMAT_VERSION

DEVICES = ("auto", "cpu", "cuda")
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
MIN_TILE = 16
_JSON_KEYS = ("channel_groups", "alpha_channel", "normalization", "kernel", "known_kernel", "config", "io")
_INT_KEYS = (FORMAT_KEY, "scale", "channels", "seed", "trained_plane", "steps", "tile_margin")

FOREIGN_HELP = (
    "pass allow_foreign=True (CLI: --allow-foreign) to run it anyway; it must then take one float32 "
    "(N, C, H, W) input with values in [0, 1] (the image's 0.1/99.9 percentiles map to 0/1) and return "
    "(N, C, s*H, s*W), and tiles get an 8-pixel overlap"
)


class OnnxUpsampler:
    """An exported DualSR model (or, on request, another ``(N, C, H, W)`` upsampler) ready to run.

    ``device``: ``auto`` (CUDA when onnxruntime can use it, else CPU), ``cpu`` or ``cuda``.
    ``providers`` lists what the session really got -- onnxruntime falls back to the CPU
    silently when CUDA libraries are missing, so ``cuda`` is checked after opening.
    ``threads`` caps onnxruntime's threads (0: one per core; a dask worker that shares
    the machine with others takes its share).
    """

    def __init__(
        self, path: str | os.PathLike, device: str = "auto", *, allow_foreign: bool = False, threads: int = 0
    ) -> None:
        self.path, self.threads = Path(path), threads
        self.session = _open_session(self.path, device, threads)
        self.providers: list[str] = self.session.get_providers()
        if device == "cuda" and CUDA not in self.providers:
            raise DualSRInputError(
                f"CUDA was requested but onnxruntime could not use it (got {', '.join(self.providers)}); "
                "install onnxruntime-gpu with matching CUDA/cuDNN, or use --device cpu"
            )
        self.input_name, self.channels = _check_graph(self.session, self.path)
        self.metadata = read_metadata(self.session.get_modelmeta().custom_metadata_map)
        self.foreign = FORMAT_KEY not in self.metadata
        if self.foreign and not allow_foreign:
            raise DualSRInputError(
                f"{self.path.name} has no dualsr metadata (it was not exported by dualsr); " + FOREIGN_HELP
            )
        if not self.foreign:
            self._check_ours()
        self.scale = self._probe_scale() if self.foreign else int(self.metadata["scale"])
        self.margin = int(self.metadata.get("tile_margin", MARGIN))  # LR context that makes tiles exact

    @property
    def device(self) -> str:
        """``cuda`` or ``cpu``: where inference really runs."""
        return "cuda" if self.providers and self.providers[0] == CUDA else "cpu"

    @property
    def kernel(self) -> np.ndarray | None:
        """The estimated (or given) kernel stored in the file, if any."""
        k = self.metadata.get("kernel")
        return None if k is None else np.asarray(k, dtype=np.float64)

    @property
    def per_channel(self) -> bool:
        """Channels normalised one by one (independently trained groups), or jointly."""
        norm = self.metadata.get("normalization") or {}
        return bool(norm.get("per_channel", False))

    @property
    def mode(self) -> str:
        """The normalisation mode refitted on each new image: ``dtype`` or ``percentile``."""
        norm = self.metadata.get("normalization") or {}
        return norm.get("mode", "percentile")

    def _check_ours(self) -> None:
        version = self.metadata.get(FORMAT_KEY)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DualSRInputError(
                f"{self.path.name} is in dualsr model format {version}, newer than this dualsr reads "
                f"({FORMAT_VERSION}); upgrade napari-dualsr"
            )
        if self.metadata.get("channels") != self.channels:
            raise DualSRInputError(
                f"{self.path.name}: metadata says {self.metadata.get('channels')} channels but the graph takes "
                f"{self.channels}; the file was altered after export -- export it again"
            )

    def _probe_scale(self) -> int:
        """A foreign model's factor, from one run on a small blank input."""
        c = self.channels or 1
        try:
            out = self._run(np.zeros((1, c, 16, 16), np.float32))
        except Exception as exc:  # noqa: BLE001 - whatever the graph rejects, the user needs the shape rule
            raise DualSRInputError(
                f"{self.path.name} does not run on a (1, {c}, 16, 16) input ({str(exc).strip()[:150]}); "
                "foreign models must accept any height and width"
            ) from exc
        s = out.shape[-1] // 16
        if out.ndim != 4 or out.shape[-2:] != (16 * s, 16 * s) or s < 1 or out.shape[1] != c:
            raise DualSRInputError(
                f"{self.path.name}: a (1, {c}, 16, 16) input gave shape {tuple(out.shape)}, not "
                f"(1, {c}, 16*s, 16*s); only same-channel upsamplers with one integer factor are supported"
            )
        return s

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]

    def upsample(
        self,
        image: Any,
        axes: str | None = None,
        tile: int | None = 512,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Every plane of ``image`` x``scale``; same axes order and dtype back.

        ``tile`` is the LR tile side (``None``/0: one piece); tiles overlap by the file's ``tile_margin`` LR pixels,
        which makes the result equal to untiled inference. ``progress(done, total)`` is
        called after each tile; ``should_stop()`` is polled before each tile and, once true,
        raises :class:`dualsr.errors.Cancelled` (nothing partial is returned).
        """
        if tile is not None and tile != 0 and tile < MIN_TILE:
            raise DualSRInputError(f"tile {tile} is too small; use 0 (no tiling) or at least {MIN_TILE} pixels")
        data = check_image(image)
        layout = Layout.of(data.shape, axes)
        self._check_channels(layout)
        return self.upsample_normalized(data, layout, self._fit(data, layout), tile, progress, should_stop)

    def upsample_normalized(
        self,
        data: np.ndarray,
        layout: Layout,
        norm: Normalization,
        tile: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """x``scale`` of ``data`` (laid out as ``layout``) with a normalisation fitted elsewhere.

        For one block of an array too large to read at once: ``norm`` comes from the
        whole array (:func:`dualsr.inference.blocks.fit_blockwise`), so every block maps its
        intensities exactly as one-piece inference would.
        """
        c_axis = 1 if self.per_channel else None
        planes = layout.canonical(data)
        run = self._tile_fn(should_stop)

        def attempt(where: str) -> np.ndarray:
            if where != self.device:
                self._reopen(where)
            return upsample_planes(
                run, planes, norm, c_axis, tile=tile, scale=self.scale, progress=progress, margin=self.margin
            )

        return layout.restore(cpu_fallback(attempt, self.device))

    def check_layout(self, shape: tuple[int, ...], axes: str | None) -> Layout:
        """The layout of an image of ``shape``; DualSRInputError if this model cannot take it."""
        layout = Layout.of(shape, axes)
        self._check_channels(layout)
        return layout

    def _reopen(self, device: str) -> None:
        """A new session on ``device`` (after CUDA ran out of memory: the CPU)."""
        self.session = _open_session(self.path, device, self.threads)
        self.providers = self.session.get_providers()

    def _tile_fn(self, should_stop: Callable[[], bool] | None) -> Callable[[np.ndarray], np.ndarray]:
        def run(batch: np.ndarray) -> np.ndarray:
            if should_stop is not None and should_stop():
                raise Cancelled("stopped on request before the next tile")
            return self._run(batch)

        return run

    def _check_channels(self, layout: Layout) -> None:
        if self.channels is not None and layout.channels != self.channels:
            what = f"{layout.channels} channel(s) (axes {layout.axes}, shape {layout.shape})"
            raise DualSRInputError(
                f"{self.path.name} takes {self.channels}-channel images but this image has {what}; "
                "name its axes (e.g. --axes CYX or YXC) or use a model trained on such images"
            )

    def _fit(self, data: np.ndarray, layout: Layout) -> Normalization:
        """The file's normalisation mode refitted on this image (the core's behaviour).

        A model trained with 8-bit dtype scaling meets a float image: the percentile rule,
        which is what the core picks for floats, is the only meaningful one.
        """
        return fit_normalization(data, self.mode_for(data.dtype), channel_axis=self.channel_axis(layout))

    def mode_for(self, dtype: np.dtype) -> str:
        """The file's normalisation mode for data of ``dtype`` (floats always by percentiles)."""
        return "percentile" if self.mode == "dtype" and not np.issubdtype(dtype, np.integer) else self.mode

    def channel_axis(self, layout: Layout) -> int | None:
        """The axis normalised channel by channel (independently trained channels), else None."""
        return layout.axes.index("C") if self.per_channel and "C" in layout.axes else None


def _providers(device: str) -> list[str]:
    """Providers to ask for, in order, from what this onnxruntime build offers."""
    if device not in DEVICES:
        raise DualSRInputError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    available = ort.get_available_providers()
    if device == "cuda":
        if CUDA not in available:
            raise DualSRInputError(
                "CUDA was requested but this onnxruntime has no CUDA provider; "
                "install onnxruntime-gpu or use --device cpu"
            )
        return [CUDA, CPU]
    if device == "auto" and CUDA in available and _nvidia_driver_present():
        return [CUDA, CPU]
    return [CPU]


def _nvidia_driver_present() -> bool:
    """onnxruntime-gpu lists CUDA even without a GPU and logs errors when it fails to load it;
    without the NVIDIA driver library there is nothing to try."""
    return ctypes.util.find_library("cuda") is not None


def _session_options(threads: int = 0) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; provider fallbacks are reported via .providers
    return options


def _open_session(path: Path, device: str, threads: int = 0) -> ort.InferenceSession:
    if not path.is_file():
        raise DualSRInputError(f"{path}: no such model file; give the .onnx file written by `dualsr train --onnx`")
    providers = _providers(device)
    try:
        return ort.InferenceSession(str(path), _session_options(threads), providers=providers)
    except Exception as exc:  # noqa: BLE001 - any loader failure means an unusable file to the user
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise DualSRInputError(f"{path.name}: not a readable ONNX model ({reason}); is the file complete?") from exc


def _check_graph(session: ort.InferenceSession, path: Path) -> tuple[str, int | None]:
    """The input's name and channel count; one 4D float input and output are required."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise DualSRInputError(f"{path.name} has {len(inputs)} inputs; an upsampler takes exactly one image tensor")
    shape, kind = inputs[0].shape, inputs[0].type
    if len(shape) != 4 or kind != "tensor(float)":
        raise DualSRInputError(
            f"{path.name} takes {kind} of shape {shape}; an upsampler takes one float32 (N, C, H, W) tensor"
        )
    channels = shape[1] if isinstance(shape[1], int) else None
    return inputs[0].name, channels


def read_metadata(props: dict[str, str]) -> dict[str, Any]:
    """The metadata props of an exported file, JSON values decoded (unknown keys kept as text)."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        try:
            if key in _JSON_KEYS:
                out[key] = json.loads(value)
            elif key in _INT_KEYS:
                out[key] = int(value)
            else:
                out[key] = value
        except ValueError:
            out[key] = value
    return out
