"""NIfTI (``.nii``, ``.nii.gz``) through nibabel, with the thick axis first.

A clinical volume's thick-slice axis may be any of the three array axes (axial, coronal or
sagittal acquisitions); it is the one with the largest voxel size in the header. Reading
moves it first, so the stack is ``(Z, Y, X)`` with Z the thick axis; writing puts it back
and updates the affine: that axis' column divided by the factor, the origin moved by
``z_shift`` along it (slice centres keep their world positions), the header's zooms with it.
nibabel is imported only here and only when a NIfTI file is read or written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError

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

    data: np.ndarray
    voxel_size: tuple[float, float, float]
    unit: str | None
    image: Any  # the nibabel image
    order: tuple[int, int, int]  # array axes of the file, in (Z, Y, X) order


def read_nifti(path: str | os.PathLike) -> NiftiFile:
    nib = _nibabel()
    path = Path(path)
    if not path.is_file():
        raise DualSRInputError(f"{path}: no such file; check the path")
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
    except MemoryError:  # a file larger than memory is not a bad file
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file to the user
        raise DualSRInputError(f"{path.name}: cannot read it as NIfTI ({exc})") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DualSRInputError(f"{path.name}: a 3-D volume is needed; this one is {data.shape}")
    zooms = [float(z) for z in image.header.get_zooms()[:3]]
    thick = int(np.argmax(zooms))
    order = (thick, *[a for a in (2, 1, 0) if a != thick])  # (k, j, i) for axial: Z, Y, X as napari shows them
    unit = image.header.get_xyzt_units()[0]
    return NiftiFile(
        np.transpose(data, order), tuple(zooms[a] for a in order), None if unit == "unknown" else unit, image, order
    )


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
    from dualsr.io.files import atomic_write

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
        back = np.argsort(like.order)
        header = like.image.header.copy()
        header.set_data_dtype(data.dtype)
        image = type(like.image)(np.transpose(data, back), affine, header)
        zooms = list(header.get_zooms()[:3])
        zooms[thick] = voxel_size[0]
        image.header.set_zooms(tuple(zooms) + tuple(header.get_zooms()[3:]))
        image.set_sform(affine, code=int(like.image.header["sform_code"]) or 1)
        image.set_qform(affine, code=int(like.image.header["qform_code"]) or 1)
    image.header["descrip"] = json.dumps({"dualsr": info.get("method", "isotropic")})[:79].encode()
    suffix = ".nii.gz" if str(path).lower().endswith(".gz") else ".nii"

    def write(tmp: str) -> None:
        nib.save(image, tmp)

    atomic_write(path, write) if suffix == ".nii" else _atomic_gz(path, image, nib)
    return path


def _atomic_gz(path: Path, image: Any, nib: Any) -> None:
    """nibabel picks compression by suffix, so the temporary file must end in .nii.gz too."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nii.gz", dir=path.resolve().parent)
    os.close(fd)
    try:
        nib.save(image, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
