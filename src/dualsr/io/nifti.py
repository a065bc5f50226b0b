"""NIfTI (``.nii``, ``.nii.gz``) through nibabel, with the thick axis first.

A clinical volume's thick-slice axis may be any of the three array axes (axial, coronal or
sagittal acquisitions); it is the one with the largest voxel size in the header. Reading
moves it first, so the stack is ``(Z, Y, X)`` with Z the thick axis; writing puts it back
and updates the affine: that axis' column divided by the factor, the origin moved by
``z_shift`` along it (slice centres keep their world positions), the header's zooms with it.
nibabel is imported only here and only when a NIfTI file is read or written.

A stack too large to hold whole is read lazily (:class:`NiftiPlanes`) and written slab by slab
(:func:`write_nifti_slabs`), in the file's own order: the third array axis slowest (a ``.nii.gz``
is one gzip stream, read or written once, front to back).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.io.files import LazyPlanes, atomic_write

NIFTI = (".nii.gz", ".nii")


def is_nifti(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(NIFTI)


def _nibabel() -> Any:
    try:
        import nibabel
    except ImportError as exc:
        raise DualSRInputError("NIfTI files need nibabel: pip install 'napari-dualsr[medical]'") from exc
    return nibabel


@dataclass
class NiftiFile:
    """The stack ``(Z, Y, X)`` (thick axis first), its voxel size, and how to put it back."""

    data: Any  # np.ndarray, or NiftiPlanes where read lazily
    voxel_size: tuple[float, float, float]
    unit: str | None
    image: Any  # the nibabel image
    order: tuple[int, int, int]  # array axes of the file, in (Z, Y, X) order


@dataclass(frozen=True)
class NiftiPlanes(LazyPlanes):
    """A NIfTI stack, thick axis first, read on demand (scaled as nibabel scales it). Only the file's name is
    kept, so the handle pickles and holds no open file."""

    path: str
    shape: tuple[int, int, int]  # (Z, Y, X)
    dtype: np.dtype
    order: tuple[int, int, int]
    extra_axes: int  # a trailing axis of length 1 (a 4-D file of one volume)

    def _slicer(self, region: tuple[slice, slice, slice]) -> tuple:
        file = [slice(None)] * 3
        for axis, part in zip(self.order, region, strict=True):
            file[axis] = part
        return (*file, *([0] * self.extra_axes))

    def region(self, region: tuple[slice, slice, slice], proxy: Any = None) -> np.ndarray:
        """The ``(Z, Y, X)`` part ``region`` (slices of step 1); ``proxy``: an open ``dataobj`` to read it from."""
        try:
            if proxy is None:
                proxy = _nibabel().load(self.path, mmap=False).dataobj
            data = np.asanyarray(proxy[self._slicer(region)])
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a short or damaged file is a bad file to the user
            raise DualSRInputError(f"{Path(self.path).name}: cannot read it ({exc}); is the file complete?") from exc
        return np.transpose(data, self.order)

    def read(self, start: int, stop: int, rows: slice = slice(None)) -> np.ndarray:
        return self.region((slice(start, stop), rows, slice(None)))

    def slabs(self, depth: int) -> Iterator[tuple[slice, np.ndarray]]:
        """The stack in the file's order: ``(the (Z, Y, X) axis' slice, part)`` for runs of ``depth`` slices of the
        file's third axis (:func:`slab_depth`), front to back through one open file."""
        axis = file_axis(self.order)
        proxy = _nibabel().load(self.path, mmap=False, keep_file_open=True).dataobj  # one handle: forward reads only
        for start in range(0, self.shape[axis], depth):
            part = slice(start, min(start + depth, self.shape[axis]))
            region = tuple(part if a == axis else slice(None) for a in range(3))
            yield part, self.region(region, proxy)  # type: ignore[arg-type]


def file_axis(order: tuple[int, int, int]) -> int:
    """Which ``(Z, Y, X)`` axis is the file's third (slowest) one."""
    return order.index(2)


def slab_depth(shape: tuple[int, ...], axis: int, itemsize: int, limit: int) -> int:
    """How many slices along ``axis`` of a ``shape`` stack fit in ``limit`` bytes (at least one)."""
    slice_bytes = int(np.prod([n for a, n in enumerate(shape) if a != axis], dtype=np.int64)) * itemsize
    return max(1, min(shape[axis], limit // max(slice_bytes, 1)))


def read_nifti(path: str | os.PathLike, lazy: bool = False) -> NiftiFile:
    """The stack and its voxel size; ``lazy``: a :class:`NiftiPlanes` handle instead of the data."""
    nib = _nibabel()
    path = Path(path)
    if not path.is_file():
        raise DualSRInputError(f"{path}: no such file; check the path")
    try:
        image = nib.load(path, mmap=False)
        if lazy:
            shape, corner = image.shape, (slice(0, 1),) * len(image.shape)
            dtype = np.asanyarray(image.dataobj[corner]).dtype  # nibabel's scaling decides it
        else:
            data = np.asanyarray(image.dataobj)
            shape = data.shape
    except MemoryError:  # a file larger than memory is not a bad file
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file to the user
        raise DualSRInputError(f"{path.name}: cannot read it as NIfTI ({exc})") from exc
    extra = 1 if len(shape) == 4 and shape[3] == 1 else 0
    if len(shape) - extra != 3:
        raise DualSRInputError(f"{path.name}: a 3-D volume is needed; this one is {shape}")
    zooms = [float(z) for z in image.header.get_zooms()[:3]]
    thick = int(np.argmax(zooms))
    order = (thick, *[a for a in (2, 1, 0) if a != thick])  # (k, j, i) for axial: Z, Y, X as napari shows them
    if lazy:
        stack: Any = NiftiPlanes(str(path), tuple(shape[a] for a in order), dtype, order, extra)
    else:
        stack = np.transpose(data[..., 0] if extra else data, order)
    unit = image.header.get_xyzt_units()[0]
    return NiftiFile(stack, tuple(zooms[a] for a in order), None if unit == "unknown" else unit, image, order)


def _nifti_image(data: Any, voxel_size: tuple[float, float, float], like: NiftiFile | None, z_shift: float, info: dict):
    """The nibabel image of ``(Z, Y, X)`` ``data``: with ``like``, in its axis order and space, else as RAS with the
    voxel size."""
    nib = _nibabel()
    if like is None:
        affine = np.diag([voxel_size[2], voxel_size[1], voxel_size[0], 1.0])
        affine[2, 3] = z_shift
        image = nib.Nifti1Image(np.transpose(data, (2, 1, 0)), affine)
        image.header.set_xyzt_units("mm")
    else:
        thick = like.order[0]
        old = like.image.affine
        factor = like.voxel_size[0] / voxel_size[0]
        m = np.eye(4)
        m[thick, thick] = 1.0 / factor
        m[thick, 3] = -(factor - 1) / (2 * factor)  # new voxel j -> old voxel (j - (f-1)/2) / f
        affine = old @ m
        header = like.image.header.copy()
        header.set_data_dtype(data.dtype)
        image = type(like.image)(np.transpose(data, np.argsort(like.order)), affine, header)
        zooms = list(header.get_zooms()[:3])
        zooms[thick] = voxel_size[0]
        image.header.set_zooms(tuple(zooms) + tuple(header.get_zooms()[3:]))
        image.set_sform(affine, code=int(like.image.header["sform_code"]) or 1)
        image.set_qform(affine, code=int(like.image.header["qform_code"]) or 1)
    image.header["descrip"] = json.dumps({"dualsr": info.get("method", "isotropic")})[:79].encode()
    return image


def write_nifti(
    path: Path,
    data: np.ndarray,
    voxel_size: tuple[float, float, float],
    like: NiftiFile | None,
    z_shift: float,
    info: dict,
) -> Path:
    """Write ``(Z, Y, X)`` ``data``; with ``like`` in its axis order and space, else as RAS with the voxel size."""
    nib = _nibabel()
    image = _nifti_image(data, voxel_size, like, z_shift, info)
    _atomic(path, lambda tmp: nib.save(image, tmp))
    return path


def output_file_axis(like: NiftiFile | None) -> int:
    """Which ``(Z, Y, X)`` axis of a result written like ``like`` is the file's third (slowest)."""
    return 0 if like is None else file_axis(like.order)


def write_nifti_slabs(
    path: Path,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    read: Callable[[slice], np.ndarray],
    voxel_size: tuple[float, float, float],
    like: NiftiFile | None,
    z_shift: float,
    info: dict,
    depth: int,
) -> Path:
    """Write a ``(Z, Y, X)`` stack of ``shape`` that is never whole in memory, as :func:`write_nifti` writes it:
    ``read(part)`` gives the part of the axis :func:`output_file_axis` names, ``depth`` slices at a time,
    written front to back in the file's order (header and scaling as nibabel writes them)."""
    nib = _nibabel()
    from nibabel.arraywriters import get_slope_inter, make_array_writer
    from nibabel.volumeutils import seek_tell

    image = _nifti_image(np.broadcast_to(np.zeros((), dtype), shape), voxel_size, like, z_shift, info)
    image.update_header()
    header = image.header
    on_disk = header.get_data_dtype()
    writer = make_array_writer(np.zeros(1, dtype), on_disk, header.has_data_slope, header.has_data_intercept)
    header.set_slope_inter(*get_slope_inter(writer))  # what nib.save sets for data of the file's own type
    back = np.argsort((2, 1, 0) if like is None else like.order)
    axis = output_file_axis(like)

    def write(tmp: str) -> None:
        with nib.openers.Opener(tmp, "wb") as f:
            header.write_to(f)
            seek_tell(f, header.get_data_offset(), write0=True)
            for start in range(0, shape[axis], depth):
                part = np.transpose(read(slice(start, min(start + depth, shape[axis]))), back)
                f.write(np.asarray(part, on_disk).tobytes(order="F"))

    _atomic(path, write)
    return path


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` then rename; the temporary name ends as ``path`` does (nibabel compresses by suffix)."""
    atomic_write(Path(path), write, ".nii.gz" if str(path).lower().endswith(".gz") else ".nii")
