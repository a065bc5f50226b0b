"""3-D stacks with their voxel size: TIFF (OME, ImageJ), NIfTI, OME-Zarr and NumPy, in and out.

Where each format keeps the Z step:

- OME-TIFF: ``PhysicalSizeZ`` beside ``PhysicalSizeY/X`` (and their units);
- ImageJ TIFF: ``spacing`` in the description, the pixel size in the resolution tags;
- NIfTI: the header's ``pixdim`` (``get_zooms``) and the affine; the thick axis is whichever
  has the largest voxel size, so the array is handed over with that axis first and put back
  in its order on writing, with the affine scaled along it and shifted so slice centres keep
  their world positions;
- OME-Zarr: the ``scale`` (and ``translation``) of level 0's coordinate transformations.

A result is written in the input's format with the new voxel size; ``z_shift`` moves the
first plane's centre (physical units) as the slice-centre rule asks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError
from dualsr.io.files import ImageFile, PlaneStream, check_output, read_image, write_image
from dualsr.io.nifti import NIFTI, is_nifti, read_nifti, write_nifti
from dualsr.io.zarr_io import is_zarr

VOLUME_SUFFIXES = (".tif", ".tiff", ".npy", ".zarr", *NIFTI)


@dataclass
class Volume:
    """A ``(Z, Y, X)`` stack, its voxel size ``(dz, dy, dx)`` (None where the file has none) and its source."""

    data: Any  # numpy; a zarr array for OME-Zarr; read lazily: a TiffPlanes handle or a memory-mapped .npy
    voxel_size: tuple[float, float, float] | None
    unit: str | None
    kind: str  # "tiff", "nifti", "zarr", "npy"
    source: Any = None  # the ImageFile, NiftiFile or ZarrInput it came from
    extra: dict[str, Any] = field(default_factory=dict)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in NIFTI if name.endswith(s)), path.suffix.lower())


def _stack_suffix(path: Path) -> str:
    """``path``'s suffix, one of ``VOLUME_SUFFIXES``; any other is a one-line error."""
    suffix = _suffix(path)
    if suffix not in VOLUME_SUFFIXES:
        raise DualSRInputError(f"{path.name}: unsupported file type for a stack; use {', '.join(VOLUME_SUFFIXES)}")
    return suffix


def read_volume(path: str | os.PathLike, axes: str | None = None, lazy: bool = False) -> Volume:
    """Read a 3-D grey stack and whatever voxel size its file records; ``lazy``: a TIFF, ``.npy`` or NIfTI
    stack's planes are read when used (block by block, :mod:`dualsr.isotropic.blockwise`)."""
    path = Path(path)
    if is_nifti(path):
        nii = read_nifti(path, lazy)
        return Volume(nii.data, nii.voxel_size, nii.unit, "nifti", nii)
    if is_zarr(path):
        return _read_zarr(path, axes)
    suffix = _stack_suffix(path)
    image = read_image(path, lazy)
    data = image.data
    found = axes or image.axes or ("ZYX" if data.ndim == 3 else None)
    if data.ndim != 3 or found is None or found.replace("I", "Z").replace("Q", "Z") != "ZYX":
        raise DualSRInputError(
            f"{path.name}: a 3-D grey stack (Z, Y, X) is needed; this one is {data.shape} with axes {found or '?'}"
            " (give --axes ZYX if it is one)"
        )
    return Volume(data, _tiff_voxel_size(image), image.unit, "npy" if suffix == ".npy" else "tiff", image)


def _tiff_voxel_size(image: ImageFile) -> tuple[float, float, float] | None:
    dz = image.extra.get("ome", {}).get("PhysicalSizeZ") or image.extra.get("spacing")
    if dz is None:
        return None
    # ImageJ writes no resolution tags (or 1/1) for a pixel size of 1 in its unit
    dy, dx = image.pixel_size or (1.0, 1.0)
    return (float(dz), float(dy), float(dx))


def _read_zarr(path: Path, axes: str | None) -> Volume:
    from dualsr.io.zarr_io import open_input

    z = open_input(path, axes)
    if z.array.ndim != 3 or (z.axes or "ZYX") != "ZYX":
        raise DualSRInputError(f"{path}: a 3-D (Z, Y, X) array is needed; this one is {z.array.shape}, axes {z.axes}")
    voxel, unit = None, None
    if z.ome is not None:
        first = z.ome.multiscale["datasets"][0].get("coordinateTransformations", [])
        scale = next((t["scale"] for t in first if t.get("type") == "scale"), None)
        voxel = tuple(float(s) for s in scale) if scale else None
        units = [a.get("unit") for a in z.ome.multiscale["axes"] if isinstance(a, dict)]
        unit = units[-1] if units else None
    return Volume(z.array, voxel, unit, "zarr", z)


def with_voxel_size(volume: Volume, voxel_size: tuple[float, float, float] | None) -> Volume:
    """The volume with a voxel size given by the user replacing (or filling in) the file's."""
    if voxel_size is not None:
        volume.voxel_size = tuple(float(v) for v in voxel_size)  # type: ignore[assignment]
    return volume


def check_volume_output(path: str | os.PathLike, inputs: list[str | os.PathLike]) -> Path:
    """Fail before any work if the output cannot be written (same checks as for images)."""
    path = Path(path)
    suffix = _stack_suffix(path)
    if suffix in NIFTI or suffix == ".zarr":
        parent = path.resolve().parent
        if not parent.is_dir():
            raise DualSRInputError(f"{path}: the folder {parent} does not exist; create it first")
        if any(Path(i).resolve() == path.resolve() for i in inputs):
            raise DualSRInputError(f"{path}: the output would overwrite an input; choose another name")
        if suffix == ".zarr" and path.exists():
            raise DualSRInputError(f"{path} already exists; remove it or choose another output")
        return path
    return check_output(path, inputs, (".tif", ".tiff", ".npy"))


def write_volume(
    path: str | os.PathLike,
    data: np.ndarray | PlaneStream,
    voxel_size: tuple[float, float, float],
    like: Volume,
    info: dict,
    z_shift: float = 0.0,
) -> Path:
    """Write ``data`` (``(Z, Y, X)``) with ``voxel_size`` in the format ``path`` names, metadata from ``like``;
    a :class:`PlaneStream` (TIFF and NumPy only) is written a few planes at a time (a NIfTI so:
    :func:`dualsr.io.nifti.write_nifti_slabs`)."""
    path = Path(path)
    suffix = _suffix(path)
    if isinstance(data, PlaneStream) and suffix not in (".tif", ".tiff", ".npy"):
        raise DualSRInputError(f"{path}: a stack written plane by plane goes to .tif, .npy or .zarr")
    if suffix in NIFTI:
        return write_nifti(path, data, voxel_size, like.source if like.kind == "nifti" else None, z_shift, info)
    if suffix == ".zarr":
        return write_ome_zarr(path, data, voxel_size, like, z_shift, info)
    if suffix == ".npy":
        return write_image(path, ImageFile(data, "ZYX"))
    return write_image(path, _tiff_file(data, voxel_size, like, info))


def check_volume_dtype(path: str | os.PathLike, dtype: np.dtype) -> None:
    """Fail before any work where the output format cannot hold the stack's dtype (the result keeps it):
    OME-TIFF, which a TIFF stack of that dtype is written as, has no 64-bit integers."""
    if _suffix(Path(path)) in (".tif", ".tiff") and np.dtype(dtype) in (np.int64, np.uint64):
        raise DualSRInputError(
            f"{path}: OME-TIFF cannot hold {np.dtype(dtype)} voxels; write .npy, .nii or .zarr, "
            "or convert the stack to int32 or float32 first"
        )


def _tiff_file(
    data: np.ndarray | PlaneStream, voxel_size: tuple[float, float, float], like: Volume, info: dict
) -> ImageFile:
    dz, dy, dx = voxel_size
    source = like.source if isinstance(like.source, ImageFile) else None
    extra = dict(source.extra) if source is not None else {}
    unit = like.unit or (source.unit if source else None)
    if "ome" in extra or data.dtype not in (np.uint8, np.uint16, np.float32):
        ome = dict(extra.get("ome", {}))
        ome["PhysicalSizeZ"] = dz
        ome["PhysicalSizeZUnit"] = unit or "µm"
        extra = {"ome": ome}
    else:
        extra["spacing"] = dz
    extra["Info"] = json.dumps(info)
    return ImageFile(data, "ZYX", (dy, dx), unit, extra)


def write_ome_zarr(
    path: Path, data: np.ndarray, voxel_size: tuple[float, float, float], like: Volume, z_shift: float, info: dict
) -> Path:
    """One-level OME-Zarr (0.4 for a 0.4 input, else 0.5) whose scale is the new voxel size."""
    import zarr

    version, translate = ome_placement(like)
    translate[0] += z_shift
    fmt = 2 if version == "0.4" else 3
    group = zarr.open_group(path, mode="w", zarr_format=fmt)
    chunks = (min(64, data.shape[0]), min(256, data.shape[1]), min(256, data.shape[2]))
    arr = group.create_array("0", shape=data.shape, chunks=chunks, dtype=data.dtype)
    arr[...] = data
    write_multiscale_attrs(group, version, voxel_size, translate, like.unit, info)
    return path


def ome_placement(like: Volume | None) -> tuple[str, list[float]]:
    """The OME-Zarr version and level-0 translation a result of ``like`` keeps (0.5 and none but for an
    OME-Zarr input)."""
    ome = like.source.ome if like is not None and like.kind == "zarr" else None
    if ome is None:
        return "0.5", [0.0, 0.0, 0.0]
    first = ome.multiscale["datasets"][0].get("coordinateTransformations", [])
    return ome.version, list(next((t["translation"] for t in first if t.get("type") == "translation"), [0.0] * 3))


def write_multiscale_attrs(
    group: Any, version: str, voxel_size: tuple[float, ...], translate: list[float], unit: str | None, info: dict
) -> None:
    """The ``multiscales`` entry of a one-level image with this scale and translation."""
    axes = [{"name": a, "type": "space", **({"unit": _ome_unit(unit)} if _ome_unit(unit) else {})} for a in "zyx"]
    multiscale = {
        "axes": axes,
        "datasets": [
            {
                "path": "0",
                "coordinateTransformations": [
                    {"type": "scale", "scale": [float(v) for v in voxel_size]},
                    {"type": "translation", "translation": [float(t) for t in translate]},
                ],
            }
        ],
        "name": "isotropic",
    }
    if version == "0.4":
        group.attrs["multiscales"] = [{"version": "0.4", **multiscale}]
    else:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [multiscale]}
    group.attrs["dualsr"] = info


def _ome_unit(unit: str | None) -> str | None:
    """OME-Zarr axis units are UDUNITS names (micrometer, millimeter ...)."""
    if unit is None:
        return None
    names = {"µm": "micrometer", "um": "micrometer", "micron": "micrometer", "\\u00B5m": "micrometer"}
    names.update({"mm": "millimeter", "nm": "nanometer", "m": "meter", "cm": "centimeter"})
    return names.get(unit, unit if unit.isalpha() else None)
