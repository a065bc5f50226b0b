"""A NIfTI reader (``.nii``, ``.nii.gz``) for napari, through nibabel: napari has none of its own.

The volume opens with its thick axis first and its voxel size as the layer's scale (see
:mod:`dualsr.io.nifti`), so *make isotropic* sees the anisotropy at once. Without nibabel,
or when another installed plugin reads NIfTI, napari uses that one (this reader declines
when nibabel is missing). A volume larger than half the memory free opens lazily (a dask array
read a plane at a time as it is shown: slow through a ``.nii.gz``, which is read from its start
for each), so it can be looked at and run block by block, never read whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dualsr.io.memory import free_memory


def get_reader(path: str | list[str]) -> Callable[[str], list[Any]] | None:
    if isinstance(path, list) or not str(path).lower().endswith((".nii", ".nii.gz")):
        return None
    try:
        import nibabel  # noqa: F401
    except ImportError:
        return None
    return read_nifti_layers


def read_nifti_layers(path: str) -> list[tuple[Any, dict[str, Any], str]]:
    from pathlib import Path

    from dualsr.io.nifti import read_nifti

    nii = read_nifti(path, lazy=True)
    planes = nii.data
    size = int(np.prod(planes.shape, dtype=np.int64)) * planes.dtype.itemsize
    free = free_memory()
    data = _lazy(planes) if free is not None and size > free // 2 else np.asarray(planes)
    name = Path(path).name.removesuffix(".gz").removesuffix(".nii")
    meta = {"voxel_size": nii.voxel_size, "unit": nii.unit, "nifti_axes_order": nii.order}
    return [(data, {"name": name, "scale": nii.voxel_size, "metadata": {"nifti": meta}}, "image")]


class _Regions:
    """What dask reads a NIfTI through: the (Z, Y, X) part a tuple of slices names."""

    def __init__(self, planes: Any) -> None:
        self.planes, self.shape, self.dtype, self.ndim = planes, planes.shape, planes.dtype, 3

    def __getitem__(self, key: Any) -> np.ndarray:
        """``key``: slices of step 1 and integers (dask fuses a plane's index into the read)."""
        key = (key if isinstance(key, tuple) else (key,)) + (slice(None),) * 3
        index = [isinstance(k, int | np.integer) for k in key[:3]]
        data = self.planes.region(tuple(slice(k, k + 1) if i else k for k, i in zip(key, index, strict=False)))
        return data[tuple(0 if i else slice(None) for i in index)]


def _lazy(planes: Any) -> Any:
    """A dask array over ``planes``, one chunk per plane."""
    import dask.array as da

    return da.from_array(_Regions(planes), chunks=(1, *planes.shape[1:]), meta=np.empty((0, 0, 0), planes.dtype))
