"""The bundled sample: a degraded microscopy image with its true kernel and HR original.

HR is scikit-image's ``immunohistochemistry`` image as grey (512x512, public domain); LR was made by
``benchmarks/make_sample.py`` with a known anisotropic Gaussian (x2, 16 bit, shot noise).
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np

from .imageio import ImageFile, read_image

_DATA = files("dualsr") / "data"


def sample_lr() -> ImageFile:
    """The LR image (256x256 uint16, 0.2 um pixels)."""
    return read_image(str(_DATA / "sample_lr.tif"))


def sample_hr() -> ImageFile:
    """The HR original the LR was made from (512x512 uint16, 0.1 um pixels)."""
    return read_image(str(_DATA / "sample_hr.tif"))


def sample_kernel() -> np.ndarray:
    """The true 13x13 x2 kernel (aligned, sums to 1)."""
    return np.load(str(_DATA / "sample_kernel.npy"))
