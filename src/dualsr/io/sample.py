"""The bundled sample: a degraded microscopy image with its true kernel and HR original.

HR is scikit-image's ``immunohistochemistry`` image as grey (512x512, public domain); LR was made by
``benchmarks/make_sample.py`` with a known anisotropic Gaussian (x2, 16 bit, mild shot noise: 4000
photons at full scale). The noisy LR is the same with 300 photons at full scale, the brightness
of a typical fluorescence image (tens to a few hundred photons in its bright pixels) and the
``dualsr bench --noise-poisson 300`` level: shot noise of 4-6 % of full scale, plainly visible.

The camera sample is a real acquisition's kind of LR (issue 26): a fluorescence scene through a
water objective (NA 1.2, 520 nm) recorded with 160 nm pixels -- the 2x2 binning of the 80 nm HR
camera's image -- with shot noise (1000 photons at full scale), in an OME-TIFF naming the objective.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np

from dualsr.io.files import ImageFile, read_image

_DATA = files("dualsr") / "data"
NOISY_PHOTONS = 300.0  # photons at full scale in the noisy LR
NOISY_SEED = 1
CAMERA_PHOTONS = 1000.0  # photons at full scale in the camera sample's LR


def sample_lr() -> ImageFile:
    """The LR image (256x256 uint16, 0.2 um pixels)."""
    return read_image(str(_DATA / "sample_lr.tif"))


def sample_noisy_lr() -> ImageFile:
    """The LR with strong shot noise: 300 photons at full scale (256x256 uint16, 0.2 um pixels)."""
    return read_image(str(_DATA / "sample_noisy_lr.tif"))


def sample_hr() -> ImageFile:
    """The HR original the LR was made from (512x512 uint16, 0.1 um pixels)."""
    return read_image(str(_DATA / "sample_hr.tif"))


def sample_camera_lr() -> ImageFile:
    """The camera sample's LR (256x256 uint16, 160 nm pixels, OME-TIFF with its objective and wavelength)."""
    return read_image(str(_DATA / "sample_camera_lr.ome.tif"))


def sample_camera_hr() -> ImageFile:
    """The camera sample's HR: the same scene and optics recorded with 80 nm pixels (512x512 uint16)."""
    return read_image(str(_DATA / "sample_camera_hr.tif"))


def sample_kernel() -> np.ndarray:
    """The true 13x13 x2 kernel (aligned, sums to 1)."""
    return np.load(str(_DATA / "sample_kernel.npy"))
