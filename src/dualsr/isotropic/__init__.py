"""Isotropic volumes: zero-shot through-plane super-resolution of anisotropic stacks (Z steps of 2-10
pixels in microscopy, thick MRI/CT slices), learned from the stack's own in-plane data, as DualSR
learns x2 from an image's own patches.

``profile`` (the slice profile, given or generalised-Gaussian), ``estimate`` (the profile from the
stack alone: in-plane against through-plane spectra), ``degrade`` (the acquisition along Z at any
factor, gaps and overlaps), ``interpolate`` (the cubic B-spline baseline), ``network`` (cubic along
one axis + residual CNN), ``train`` (in-plane crops degraded like Z), ``apply`` (XZ and YZ slices,
fusion), ``noise`` (a noisy stack's planes denoised first), ``volume`` (:func:`isotropic`: all of it
in order), ``blocks`` (stacks larger than memory, on the dask path), ``blockwise`` (such a run from
file to file: Zarr, TIFF, NumPy or NIfTI) and ``export`` (the model as ONNX).

The package is callable: ``dualsr.isotropic(volume, voxel_size=(dz, dy, dx))`` is
:func:`dualsr.isotropic.volume.isotropic`.

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr._version``, ``dualsr.paper`` (G_UP's CNN
body), ``dualsr.noise`` (the ×2 path's noise estimate and denoiser), ``dualsr.io``, ``dualsr.runtime``,
``dualsr.scale`` (the dask path, imported only for block-wise runs).
"""

import sys
import types

from dualsr.isotropic.volume import IsotropicResult, isotropic


class _CallableModule(types.ModuleType):
    """``dualsr.isotropic(...)`` runs :func:`isotropic`; the subpackage stays importable as usual."""

    def __call__(self, *args, **kwargs) -> IsotropicResult:  # noqa: ANN002, ANN003
        return isotropic(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["IsotropicResult", "isotropic"]
