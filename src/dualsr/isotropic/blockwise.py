"""A stack run block by block from file to file: Zarr, TIFF, NumPy or NIfTI in; OME-Zarr, TIFF, NumPy or
NIfTI out.

A Zarr input is read block by block where it lies. A TIFF, NumPy or NIfTI stack is first copied, a few
planes at a time, into a Zarr in a temporary folder beside the output (chunks of ``STAGE_BYTES`` at most),
so that each block reads only its own part of the stack (a NIfTI in its file's order: one pass through a
``.nii.gz``). The blocks run as for any Zarr (:mod:`dualsr.isotropic.blocks`), into the OME-Zarr output,
or into a second temporary Zarr whose planes are then written to the TIFF, NumPy or NIfTI output a few
at a time (a NIfTI's chunks laid out in its file's order, so each write reads whole chunks). The
process holds the model, the training part and one block (plus a few planes while copying): the
memory of a small stack, whatever the stack's size. The disk holds one more copy of the input and of
the output until the run ends.

The in-memory path needs about ``BYTES_PER_OUTPUT_VOXEL`` bytes per voxel of the result; where that
is more than the memory free, :func:`needs_blocks` says so, and the command line goes block by block.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.io.files import PlaneStream
from dualsr.io.memory import free_memory
from dualsr.io.nifti import NIFTI, file_axis, output_file_axis, slab_depth, write_nifti_slabs
from dualsr.io.volume import Volume, write_volume
from dualsr.isotropic.blocks import (
    DEFAULT_BLOCK,
    TRAIN_SIDE,
    apply_blocks,
    check_block,
    create_ome_output,
    output_planes,
    train_on_part,
)

STAGE_BYTES = 64 * 2**20  # planes read or written together: at most this many bytes
STAGE_SIDE = 512  # the copied input's chunks: at least this wide (one file per chunk: few, but small reads)
# Peak RSS of the in-memory path over the result's voxels (16 x S x S uint16 at factor 2, float32 copies of the
# input, both slice directions and their fusion): 1494 MB at S = 1024, 4391 MB at S = 2048 (docs/isotropic.md)
BYTES_PER_OUTPUT_VOXEL = 30
BASE_BYTES = 600 * 2**20  # torch, the model and the training batch
BLOCKWISE_OUTPUTS = (".zarr", ".tif", ".tiff", ".npy", *NIFTI)


def in_memory_bytes(shape: tuple[int, int, int], factor: float) -> int:
    """What the in-memory path is expected to need for a ``shape`` stack at ``factor`` (bytes)."""
    z, h, w = shape
    return BASE_BYTES + BYTES_PER_OUTPUT_VOXEL * output_planes(z, factor) * h * w


def memory_shortfall(shape: tuple[int, int, int], factor: float, free: int | None = None) -> str | None:
    """Why a ``shape`` stack at ``factor`` will not fit in memory (``free``: measured where not given), or None."""
    need = in_memory_bytes(shape, factor)
    free = free_memory() if free is None else free
    if free is None or need <= free:
        return None
    return f"the stack needs about {need / 2**30:,.1f} GB in memory and {free / 2**30:,.1f} GB are free"


def needs_blocks(volume: Volume, free: int | None = None) -> str | None:
    """Why ``volume`` (a TIFF, NumPy or NIfTI stack read lazily) should go block by block, or None: its in-memory
    run would need more than the memory free (``free``: measured where not given)."""
    v = volume.voxel_size
    if v is None or volume.kind not in ("tiff", "npy", "nifti") or len(volume.data.shape) != 3 or not v[1] > 0:
        return None  # the in-memory path gives the clear error
    return memory_shortfall(tuple(volume.data.shape), max(v[0] / v[1], 1.0), free)


def check_blockwise(volume: Volume, output: Path) -> None:
    """Fail before any work where a block-by-block run cannot write ``output`` (it reads every kind of stack)."""
    if not str(output).lower().endswith(BLOCKWISE_OUTPUTS):
        raise DualSRInputError(f"{output}: a stack run block by block is written to .zarr, .tif, .npy or .nii(.gz)")


def isotropic_blockwise(
    volume: Volume,
    output: Path,
    block: int = DEFAULT_BLOCK,
    workers: int | None = None,
    scheduler: str | None = None,
    **options: Any,
):
    """Train on the central part of ``volume``, upsample it block by block and write ``output``;
    ``options``: :func:`dualsr.isotropic.volume.isotropic`'s. Returns its result (``image`` None)."""
    import zarr

    from dualsr.io.zarr_io import ZarrArray

    check_block(block)
    check_blockwise(volume, output)
    progress = options.pop("apply_progress", None)
    stage_progress = options.pop("stage_progress", None)
    if volume.kind != "zarr" or output.suffix.lower() != ".zarr":  # a copy of the input, or of the output
        scratch: Any = tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.resolve().parent)
    else:
        scratch = contextlib.nullcontext("")
    with scratch as tmp:
        if volume.kind == "zarr":
            source = ZarrArray(str(volume.source.path))
        elif hasattr(volume.data, "slabs"):  # a NIfTI read lazily: in its file's order
            source = stage_slabs(volume.data, Path(tmp) / "input.zarr", block, stage_progress)
        else:
            source = stage(volume.data, Path(tmp) / "input.zarr", block, stage_progress)
        array = zarr.open_array(source.path, mode="r")
        shape = tuple(array.shape)
        result = train_on_part(array, volume.voxel_size, options)
        out_shape = (output_planes(shape[0], result.factor), shape[1], shape[2])
        nifti = str(output).lower().endswith(NIFTI)
        like = volume.source if volume.kind == "nifti" else None
        if output.suffix.lower() == ".zarr":
            create_ome_output(output, out_shape, block, array.dtype, result, volume)
            sink = ZarrArray(str(output / "0"))
        elif nifti and output_file_axis(like) == 1:  # the file's slowest axis is Y: chunks a few rows of Y deep
            rows = _rows(out_shape, block, array.dtype)
            sink = ZarrArray(str(_scratch(Path(tmp) / "output.zarr", out_shape, block, array.dtype, rows)))
        else:
            sink = ZarrArray(str(_scratch(Path(tmp) / "output.zarr", out_shape, block, array.dtype)))
        apply_blocks(result, source, sink, shape, block, workers, scheduler, progress)
        written = zarr.open_array(sink.path, mode="r")
        info, shift = result.summary(), result.z_translate_shift
        if nifti:
            axis = output_file_axis(like)
            read = lambda part: np.asarray(written[(part,) if axis == 0 else (slice(None), part)])  # noqa: E731
            depth = written.chunks[axis]
            write_nifti_slabs(
                output, out_shape, np.dtype(array.dtype), read, result.voxel_size, like, shift, info, depth
            )
        elif output.suffix.lower() != ".zarr":
            planes = PlaneStream(out_shape, np.dtype(array.dtype), _planes(written))
            write_volume(output, planes, result.voxel_size, volume, info, shift)
    return result


def _scratch(path: Path, shape: tuple[int, int, int], block: int, dtype: Any, rows: int | None = None) -> Path:
    """An uncompressed temporary Zarr whose chunks are a few planes deep and ``block`` wide (the output's: one
    block writes whole chunks, so blocks on different workers never share one); ``rows``: chunks that many
    rows of Y high instead, and as many planes deep as ``STAGE_BYTES`` allows."""
    import zarr

    itemsize = np.dtype(dtype).itemsize
    if rows is None:
        chunks = (slab_depth(shape, 0, itemsize, STAGE_BYTES), block, block)
    else:
        chunks = (slab_depth((shape[0], rows, block), 0, itemsize, STAGE_BYTES), rows, block)
    zarr.create_array(path, shape=shape, chunks=chunks, dtype=dtype, compressors=None)
    return path


def _rows(shape: tuple[int, int, int], block: int, dtype: Any) -> int:
    """Rows of Y per chunk of a result written to a file whose slowest axis is Y: a divisor of ``block`` (a
    block writes whole chunks), at most what ``STAGE_BYTES`` holds of whole XZ slices."""
    most = slab_depth(shape, 1, np.dtype(dtype).itemsize, STAGE_BYTES)
    return max(d for d in range(1, block + 1) if block % d == 0 and d <= most)


def stage(data: Any, path: Path, block: int, progress: Callable[[int, int], None] | None = None):
    """``data`` (a lazy :class:`~dualsr.io.files.TiffPlanes` or :class:`~dualsr.io.files.NpyPlanes`, or an
    array) copied into a Zarr at ``path``, ``STAGE_BYTES`` at a time: a few planes, or bands of rows of one
    plane where a plane is larger; returns its :class:`~dualsr.io.zarr_io.ZarrArray`."""
    import zarr

    from dualsr.io.zarr_io import ZarrArray

    z, h, w = data.shape
    side = -(-max(block, STAGE_SIDE) // block) * block
    _scratch(path, (z, h, w), side, data.dtype)
    array = zarr.open_array(path, mode="r+")
    depth, row_bytes = array.chunks[0], w * np.dtype(data.dtype).itemsize
    rows = h if depth > 1 else max(side, STAGE_BYTES // row_bytes // side * side)  # whole chunks each time
    for start in range(0, z, depth):
        stop = min(start + depth, z)
        for y in range(0, h, rows):
            band = slice(y, min(y + rows, h))
            read = data.read(start, stop, band) if hasattr(data, "read") else data[start:stop, band]
            array[start:stop, band] = np.asarray(read)
        if progress is not None:
            progress(stop, z)
    return ZarrArray(str(path))


def stage_slabs(data: Any, path: Path, block: int, progress: Callable[[int, int], None] | None = None):
    """A NIfTI stack (:class:`~dualsr.io.nifti.NiftiPlanes`) copied into a Zarr at ``path`` in the file's own
    order, ``STAGE_BYTES`` at a time, each copy whole chunks; returns its :class:`~dualsr.io.zarr_io.ZarrArray`."""
    import zarr

    from dualsr.io.zarr_io import ZarrArray

    axis, itemsize = file_axis(data.order), np.dtype(data.dtype).itemsize
    side = -(-max(block, STAGE_SIDE) // block) * block
    depth = slab_depth(data.shape, axis, itemsize, STAGE_BYTES)
    _scratch(path, data.shape, side, data.dtype, None if axis == 0 else depth)
    array = zarr.open_array(path, mode="r+")
    for part, slab in data.slabs(depth):  # runs of exactly the chunks' depth: whole chunks
        array[(part,) if axis == 0 else (slice(None), part)] = slab
        if progress is not None:
            progress(part.stop, data.shape[axis])
    return ZarrArray(str(path))


def _planes(array: Any) -> Iterator[np.ndarray]:
    """The planes of a Zarr in order, read one chunk of planes at a time."""
    depth = array.chunks[0]
    for start in range(0, array.shape[0], depth):
        yield from np.asarray(array[start : start + depth])


def memory_note(reason: str, block: int) -> str:
    """The line a run that went block by block on its own prints."""
    return (
        f"{reason}: running it block by block (--block {block}), the model trained on the central "
        f"{TRAIN_SIDE}x{TRAIN_SIDE} pixels of its planes"
    )
