"""A NIfTI reader (``.nii``, ``.nii.gz``) for napari, through nibabel: napari has none of its own.

The volume opens with its thick axis first and its voxel size as the layer's scale (see
:mod:`dualsr.io.nifti`), so *make isotropic* sees the anisotropy at once. Without nibabel,
or when another installed plugin reads NIfTI, napari uses that one (this reader declines
when nibabel is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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

    nii = read_nifti(path)
    name = Path(path).name.removesuffix(".gz").removesuffix(".nii")
    meta = {"voxel_size": nii.voxel_size, "unit": nii.unit, "nifti_axes_order": nii.order}
    return [(nii.data, {"name": name, "scale": nii.voxel_size, "metadata": {"nifti": meta}}, "image")]
