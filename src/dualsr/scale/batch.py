"""Whole datasets on a cluster: many files into a folder, one large array into a Zarr.

Files: one task per file, each exactly ``dualsr apply MODEL FILE -o OUT/FILE``
(:func:`apply_file`), written atomically; a file already in OUT is skipped, so a rerun
continues where a crash or Ctrl-C stopped. Arrays: one pass for the whole array's
normalisation, then one task per block (:mod:`dualsr.inference.blocks`), each writing one chunk;
chunks already on disk are skipped. Both run on any ``concurrent.futures`` executor: a
dask.distributed client's (:mod:`dualsr.scale.cluster`) from the command line, one of
worker threads inside napari.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.inference.blocks import Block, Share, dtype_only, fit_blockwise, plan, sample_block, upsample_block
from dualsr.io.axes import Layout
from dualsr.io.files import read_image, write_image, x2_file
from dualsr.io.normalize import Normalization
from dualsr.io.zarr_io import ZarrArray, ZarrOutput, create_levels, downsample, write_ome_metadata
from dualsr.scale.cluster import ModelSpec, run_tasks, worker_model

Progress = Callable[[str, int, int], None]


def apply_file(
    model: Any,
    src: str | Path,
    dst: str | Path,
    axes: str | None = None,
    tile: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """``dualsr apply``'s work on one file: read, x2 every plane, write with the metadata carried over.

    ``model`` is an ``OnnxUpsampler``; returns the axes of the result.
    """
    source = read_image(src)
    layout = Layout.of(source.data.shape, axes or source.axes)
    image = model.upsample(source.data, axes=layout.axes, tile=tile, progress=progress)
    info = {"model": model.path.name, "providers": model.providers, "tile": tile}
    write_image(dst, x2_file(source, image, layout.axes, info))
    return layout.axes


def _file_task(spec: ModelSpec, src: str, dst: str, axes: str | None, tile: int) -> str | None:
    """One file on a worker; a problem with this file comes back as its one-line message."""
    try:
        apply_file(worker_model(spec), src, dst, axes, tile)
    except DualSRInputError as exc:
        return str(exc)
    return None


@dataclass
class FilesReport:
    """How a folder run went: files written now, already there, and one line per failure."""

    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def apply_files(
    pool: cf.Executor,
    ahead: int,
    spec: ModelSpec,
    pairs: list[tuple[Path, Path]],
    axes: str | None = None,
    tile: int = 512,
    progress: Progress | None = None,
) -> FilesReport:
    """x2 each ``(input, output)`` pair whose output does not exist yet; bad files do not stop the rest."""
    start = time.perf_counter()
    todo = [(s, d) for s, d in pairs if not d.exists()]
    report = FilesReport(skipped=len(pairs) - len(todo))

    def done(task: tuple, error: str | None) -> None:
        if error is None:
            report.written += 1
        else:
            report.failed.append(error if Path(task[1]).name in error else f"{Path(task[1]).name}: {error}")
        if progress:
            progress("files", report.skipped + report.written + len(report.failed), len(pairs))

    tasks = ((spec, str(s), str(d), axes, tile) for s, d in todo)
    run_tasks(pool, _file_task, tasks, done, ahead)
    report.seconds = time.perf_counter() - start
    return report


def _sample_task(source: Any, block: Block, layout: Layout, channel_axis: int | None) -> Share:
    return sample_block(source.read, block, layout, channel_axis)


def _block_task(spec: ModelSpec, source: Any, sink: Any, block: Block, layout: Layout, norm: Normalization) -> None:
    """One block on a worker: read it with its margin, x2, write its output chunk."""
    model = worker_model(spec)
    sink.write(block.hr_slices(layout, model.scale), upsample_block(model, source.read, block, layout, norm))


@dataclass
class ArrayJob:
    """One array to x2 into ``out``: the model, where the blocks come from and how they are cut."""

    spec: ModelSpec
    model: Any  # OnnxUpsampler opened here: the checks and the normalisation rule
    source: Any  # .read(slices) -> ndarray; picklable for worker processes (ZarrArray)
    layout: Layout
    dtype: np.dtype
    size: tuple[int, int]
    out: ZarrOutput
    first_plane: int | None = None


@dataclass
class ArrayReport:
    """How an array run went: blocks written now and already there."""

    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    normalization: Normalization | None = None


def apply_array(
    pool: cf.Executor,
    ahead: int,
    job: ArrayJob,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ArrayReport:
    """Fit the normalisation (or reuse the stored one), then x2 every block not on disk yet."""
    start = time.perf_counter()
    blocks = plan(job.layout, job.size, job.first_plane)
    norm = _normalization(pool, ahead, job, blocks, progress, should_stop)
    chunks = [b.chunk(job.layout, job.size) for b in blocks]
    on_disk = job.out.written(chunks)
    todo = [b for b, c in zip(blocks, chunks) if c not in on_disk]
    report = ArrayReport(skipped=len(blocks) - len(todo), normalization=norm)
    sink = ZarrArray(str(job.out.level0))
    count = _counter("blocks", len(blocks), progress, report.skipped)

    def done(task: tuple, result: None) -> None:
        report.written += 1
        count(task, result)

    if progress:
        progress("blocks", report.skipped, len(blocks))
    tasks = ((job.spec, job.source, sink, b, job.layout, norm) for b in todo)
    run_tasks(pool, _block_task, tasks, done, ahead, should_stop)
    report.seconds = time.perf_counter() - start
    return report


def _normalization(
    pool: cf.Executor,
    ahead: int,
    job: ArrayJob,
    blocks: list[Block],
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> Normalization:
    """The stored normalisation of a resumed run, the dtype range, or one pass over every block."""
    if job.out.normalization is not None:
        return Normalization.from_dict(job.out.normalization)
    norm = dtype_only(job.model, job.dtype, job.layout)
    if norm is None:
        shares: list[Share] = []

        def done(_task: tuple, share: Share) -> None:
            shares.append(share)
            if progress:
                progress("normalising", len(shares), len(blocks))

        c_axis = job.model.channel_axis(job.layout)
        tasks = ((job.source, b, job.layout, c_axis) for b in blocks)
        run_tasks(pool, _sample_task, tasks, done, ahead, should_stop)
        norm = fit_blockwise(shares, job.dtype)
    job.out.save(normalization=norm.to_dict())
    return norm


def rebuild_levels(pool: cf.Executor, ahead: int, job: ArrayJob, like: Any, progress: Progress | None = None) -> None:
    """An OME output's lower levels, each from the one above (2x2 means), then its metadata."""
    axes = job.layout.axes
    upper = ZarrArray(str(job.out.level0))
    for level, target in enumerate(create_levels(job.out, like, axes), start=1):
        slices = list(_chunk_slices(target))
        tasks = ((upper, target, s, axes) for s in slices)
        run_tasks(pool, downsample, tasks, _counter(f"level {level}", len(slices), progress), ahead)
        upper = target
    write_ome_metadata(job.out, like, axes, job.model.scale)


def _counter(phase: str, total: int, progress: Progress | None, start: int = 0) -> Callable[[tuple, Any], None]:
    """An ``on_result`` that counts finished tasks into ``progress(phase, done, total)``."""
    count = [start]

    def done(_task: tuple, _result: Any) -> None:
        count[0] += 1
        if progress:
            progress(phase, count[0], total)

    return done


def _chunk_slices(array: ZarrArray) -> Iterator[tuple[slice, ...]]:
    import zarr

    z = zarr.open_array(array.path, mode="r")
    for index in np.ndindex(*z.cdata_shape):
        yield tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, z.chunks, z.shape))
