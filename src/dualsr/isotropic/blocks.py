"""Stacks larger than memory, the mechanics: train on a central part, then upsample block by block.

A block is the whole Z extent of a Y-X rectangle. It is read with a margin in Y and X (the
network's reach, :attr:`AxisUpsampler.margin`), its XZ and YZ slices are upsampled, fused
and cropped back, so blocks side by side give what the whole stack in memory gives (the
fusion rules ``mean`` and ``geometric`` are pointwise; ``fourier`` needs whole planes and
is refused here). Each block is one chunk of the output, written whole; a worker holds one
block at a time. The blocks run as tasks on the existing dask path
(:func:`dualsr.scale.cluster.run_tasks`): a thread in this process, or dask workers.

The model trains on a central sub-stack of at most ``TRAIN_SIDE``² pixels per plane, and the
intensity normalisation comes from a strided sample of the whole stack (at most ~4 M voxels). The
noise is measured and decided on that sub-stack; a noisy stack's blocks are denoised plane by plane
with its estimate, read with the denoiser's reach added to the margin. From file to file (a Zarr, a
TIFF, a NumPy or a NIfTI stack in; OME-Zarr, TIFF, NumPy or NIfTI out): :mod:`dualsr.isotropic.blockwise`.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dualsr.config import DEFAULT_DENOISER
from dualsr.errors import DualSRInputError
from dualsr.io.normalize import Normalization, robust_range
from dualsr.io.volume import Volume, ome_placement, write_multiscale_attrs
from dualsr.isotropic.apply import fuse, upsample_slices
from dualsr.isotropic.network import AxisUpsampler
from dualsr.isotropic.noise import DENOISE_REACH, denoise_stack
from dualsr.noise.estimate import NoiseEstimate

TRAIN_SIDE = 512
DEFAULT_BLOCK = 128  # block side in Y and X where none is given
SAMPLE_VOXELS = 4_000_000


@dataclass(frozen=True)
class ModelState:
    """A picklable trained model: its config and weights (a few hundred kB), keyed by a digest."""

    config: tuple[tuple[str, Any], ...]
    weights: bytes

    @classmethod
    def of(cls, model: AxisUpsampler) -> ModelState:
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        return cls(tuple(sorted(model.config().items())), buffer.getvalue())


@functools.lru_cache(maxsize=4)
def _model(state: ModelState) -> AxisUpsampler:
    config = dict(state.config)
    model = AxisUpsampler(config["factor"], config["layers"], config["features"])
    model.load_state_dict(torch.load(io.BytesIO(state.weights), weights_only=True))
    return model.eval()


def plan(height: int, width: int, block: int) -> list[tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` of every block, row-major."""
    return [
        (y, min(y + block, height), x, min(x + block, width))
        for y in range(0, height, block)
        for x in range(0, width, block)
    ]


def upsample_block(
    model: AxisUpsampler,
    read: Callable[[tuple[slice, ...]], np.ndarray],
    shape: tuple[int, int, int],
    box: tuple[int, int, int, int],
    norm: Normalization,
    fusion: str = "mean",
    noise: NoiseEstimate | None = None,
    denoiser: str = DEFAULT_DENOISER,
) -> np.ndarray:
    """One block's isotropic result ``(Zo, y1-y0, x1-x0)`` in the input's dtype; with ``noise`` (the
    stack's estimate) its planes are denoised first."""
    if fusion == "fourier":
        raise DualSRInputError("block-wise processing fuses with 'mean' or 'geometric'; 'fourier' needs whole planes")
    y0, y1, x0, x1 = box
    m = model.margin + (DENOISE_REACH if noise is not None else 0)
    ys, xs = slice(max(y0 - m, 0), min(y1 + m, shape[1])), slice(max(x0 - m, 0), min(x1 + m, shape[2]))
    raw = np.asarray(read((slice(None), ys, xs)))
    data = norm.apply(raw if noise is None else denoise_stack(raw, noise, denoiser))
    fused = fuse(upsample_slices(model, data, "x"), upsample_slices(model, data, "y"), fusion)
    crop = fused[:, y0 - ys.start : y1 - ys.start, x0 - xs.start : x1 - xs.start]
    return norm.invert(crop)


def _block_task(
    state: ModelState,
    source: Any,
    sink: Any,
    box: tuple,
    shape: tuple,
    norm: Normalization,
    fusion: str,
    one: bool,
    noise: NoiseEstimate | None = None,
    denoiser: str = DEFAULT_DENOISER,
):
    if one:  # on dask the parallelism is the workers' threads: one torch thread per task
        torch.set_num_threads(1)
    out = upsample_block(_model(state), source.read, shape, box, norm, fusion, noise, denoiser)
    y0, y1, x0, x1 = box
    sink.write((slice(None), slice(y0, y1), slice(x0, x1)), out)
    return box


def sampled_normalization(array: Any) -> Normalization:
    """Percentile normalisation from a strided sample of the stack (reads ~``SAMPLE_VOXELS`` voxels)."""
    z, h, w = array.shape
    step = max(1, int(math.ceil((z * h * w / SAMPLE_VOXELS) ** (1 / 3))))
    sample = np.asarray(array[::step, ::step, ::step])
    lo, hi = robust_range(sample.reshape(-1), lambda: (float(sample.min()), float(sample.max())))
    return Normalization((lo,), (hi,), np.dtype(array.dtype).str, "percentile")


def central_part(array: Any, side: int = TRAIN_SIDE) -> np.ndarray:
    """The whole Z extent of the central ``side`` x ``side`` pixels: what the model trains on."""
    _, h, w = array.shape
    y0, x0 = max((h - side) // 2, 0), max((w - side) // 2, 0)
    return np.asarray(array[:, y0 : y0 + side, x0 : x0 + side])


def check_block(block: int) -> None:
    if block < 16:
        raise DualSRInputError(f"--block must be at least 16 (got {block})")


def train_on_part(array: Any, voxel_size: Any, options: dict[str, Any]):
    """The model trained on the stack's central part, its normalisation from a sample of the whole
    (``options``: :func:`dualsr.isotropic.volume.isotropic`'s); nothing applied yet."""
    from dualsr.isotropic.volume import isotropic

    norm = sampled_normalization(array)
    result = isotropic(central_part(array), voxel_size, **options, apply=False)
    result.normalization = norm
    return result


def output_planes(depth: int, factor: float) -> int:
    """Planes of the isotropic stack: ``floor(Z * f)`` (the slice-centre rule of ``degrade``)."""
    return int(math.floor(depth * factor + 1e-6))


def create_ome_output(
    output: Path,
    shape: tuple[int, int, int],
    block: int,
    dtype: Any,
    result: Any,
    like: Volume | None,
) -> None:
    """An empty one-level OME-Zarr for the result (chunks: whole Z, one block in Y-X), with its scale and the
    translation of ``like`` (an OME-Zarr input) shifted by the slice-centre rule."""
    import zarr

    version, translate = ome_placement(like)
    group = zarr.open_group(output, mode="w", zarr_format=2 if version == "0.4" else 3)
    group.create_array("0", shape=shape, chunks=(shape[0], block, block), dtype=dtype)
    translate[0] += result.z_translate_shift
    unit = like.unit if like is not None else None
    write_multiscale_attrs(group, version, result.voxel_size, translate, unit, result.summary())


def apply_blocks(
    result: Any,
    source: Any,
    sink: Any,
    shape: tuple[int, int, int],
    block: int = DEFAULT_BLOCK,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Every block of ``source`` (a :class:`~dualsr.io.zarr_io.ZarrArray`, ``shape``) upsampled by
    ``result``'s model into the same Y-X place of ``sink``: on a local thread, or on dask workers."""
    from dualsr.scale.cluster import capacity, client, executor, run_tasks

    t0 = time.perf_counter()
    state = ModelState.of(result.model)
    boxes = plan(shape[1], shape[2], block)
    distributed = bool(workers or scheduler)
    noise = result.noise.estimate if result.noise is not None and result.noise.active else None
    fixed = (shape, result.normalization, result.fusion, distributed, noise, result.denoiser)
    tasks = [(state, source, sink, box, *fixed) for box in boxes]
    done = [0]

    def on_result(_task: tuple, _box: Any) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(boxes))

    if distributed:
        with client(workers, scheduler) as c:
            run_tasks(executor(c), _block_task, tasks, on_result, ahead=2 * capacity(c))
    else:
        with cf.ThreadPoolExecutor(1) as pool:
            run_tasks(pool, _block_task, tasks, on_result, ahead=2)
    result.seconds["apply"] = time.perf_counter() - t0
    result.seconds["total"] = sum(v for k, v in result.seconds.items() if k in ("profile", "train", "apply"))
