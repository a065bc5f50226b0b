"""Making LR images from HR ones with a known kernel (benchmarks and samples).

``LR = correlate(HR, k)[::s, ::s]`` with the HR image mirror-padded by ``n // 2``.

Alignment (the convention of bicubic resizing and of DualSR): for x2 an aligned ``n x n``
kernel has its centre of mass at ``n // 2 + 0.5``, and LR pixel ``i`` then sits at HR
position ``2i + 0.5``. For x4 the aligned centre is ``n // 2 + 1.5`` and LR pixel ``i``
sits at HR ``4i + 1.5`` (MATLAB ``imresize(.., 1/4)``'s pixel centres: the middle of HR
pixels ``4i .. 4i+3``). Degrading twice by x2 with an aligned kernel ``k`` is exactly a
x4 degradation with :func:`compose_x4` ``(k)``.

Random kernels follow DIV2KRK (KernelGAN, NeurIPS 2019): an 11x11 anisotropic Gaussian
whose covariance has eigenvalues (variances) drawn from U(0.6, 5) and an angle from
U(0, pi), multiplied pixel-wise by uniform noise of up to +-25 %, normalised, and placed
in a 13x13 kernel with its centre of mass on the aligned centre 6.5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dualsr.errors import DualSRInputError
from dualsr.paper.kernel import centre_of_mass
from dualsr.paper.networks import downsample_with_kernel

SCALES = (2, 4)
KERNEL_SIZE = 13  # the x2 kernel, as DIV2KRK's gt_k_x2 and G_DN's composed kernel
GAUSSIAN_SUPPORT = 11  # DIV2KRK's 11x11 Gaussians
VAR_RANGE = (0.6, 5.0)
KERNEL_NOISE = 0.25


def aligned_centre(size: int, scale: int = 2) -> float:
    """Where an aligned ``size x size`` kernel for ``scale`` has its centre of mass."""
    return size // 2 + (scale - 1) / 2


def degrade(hr: np.ndarray, kernel: np.ndarray, scale: int = 2) -> np.ndarray:
    """Blur ``(H, W)`` or ``(H, W, C)`` float ``hr`` with ``kernel`` and subsample by ``scale``.

    The result is ``(H // scale, W // scale[, C])`` float64.
    """
    data = np.asarray(hr, dtype=np.float64)
    chw = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    pad = kernel.shape[0] // 2
    if min(data.shape[:2]) <= pad:
        raise DualSRInputError(
            f"the image is {data.shape[0]}x{data.shape[1]} pixels; degrading with a "
            f"{kernel.shape[0]}x{kernel.shape[1]} kernel needs more than {pad} pixels per side"
        )
    t = torch.from_numpy(np.ascontiguousarray(chw))[None]
    t = F.pad(t, (pad, pad, pad, pad), mode="reflect")
    k = torch.from_numpy(np.asarray(kernel, dtype=np.float64))
    lr = downsample_with_kernel(t, k, stride=scale)[0].numpy()
    h, w = data.shape[0] // scale, data.shape[1] // scale
    lr = lr[:, :h, :w]
    return lr[0] if data.ndim == 2 else np.moveaxis(lr, 0, -1)


@dataclass(frozen=True)
class KernelDraw:
    """The random numbers behind one DIV2KRK-style kernel (for the record)."""

    var_1: float
    var_2: float
    angle: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _tilt_to_centre(k: np.ndarray, centre: float, iterations: int = 20) -> np.ndarray:
    """Multiply ``k`` by ``exp(a . (x - centre))`` so its centre of mass is ``centre``.

    For a Gaussian this is exactly a shift of its mean; it keeps the kernel's support,
    keeps it positive and rings nowhere (a Fourier shift of a truncated, noisy kernel
    makes negative lobes of up to 5 % of the peak). Newton's method on ``a``.
    """
    yy, xx = np.mgrid[0 : k.shape[0], 0 : k.shape[1]].astype(np.float64)
    d = np.stack([yy - centre, xx - centre])
    a = np.zeros(2)
    for _ in range(iterations):
        w = k * np.exp(np.tensordot(a, d, axes=1))
        w = w / w.sum()
        mean = np.tensordot(d, w, axes=([1, 2], [0, 1]))
        if np.all(np.abs(mean) < 1e-12):
            break
        centred = d - mean[:, None, None]
        cov = np.einsum("ixy,jxy,xy->ij", centred, centred, w)
        a = a - np.linalg.solve(cov, mean)
    return w


def random_kernel(rng: np.random.Generator, scale: int = 2) -> tuple[np.ndarray, KernelDraw]:
    """A DIV2KRK-style x2 kernel (13x13, aligned, sums to 1), or its x4 composition.

    The Gaussian (variances U(0.6, 5) along axes at an angle U(0, pi)) is evaluated
    around the aligned centre 6.5 on the 11x11 footprint moved by that half pixel
    (rows/columns 1..12 of the 13x13 kernel), multiplied by U(0.75, 1.25) noise,
    normalised, and its mean nudged so that the centre of mass is exactly at 6.5.
    """
    if scale not in SCALES:
        raise DualSRInputError(f"scale {scale} is not supported; use one of {', '.join(map(str, SCALES))}")
    var_1, var_2 = rng.uniform(*VAR_RANGE, size=2)
    angle = rng.uniform(0.0, np.pi)
    noise = rng.uniform(1 - KERNEL_NOISE, 1 + KERNEL_NOISE, size=(KERNEL_SIZE, KERNEL_SIZE))
    centre = aligned_centre(KERNEL_SIZE, 2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    inv = np.linalg.inv(rot @ np.diag([var_1, var_2]) @ rot.T)
    yy, xx = np.mgrid[0:KERNEL_SIZE, 0:KERNEL_SIZE].astype(np.float64)
    d = np.stack([yy - centre, xx - centre], axis=-1)
    k = np.exp(-0.5 * np.einsum("...i,ij,...j->...", d, inv, d))
    half = GAUSSIAN_SUPPORT / 2  # 5.5: the footprint is 11 pixels wide around the mean ...
    inside = (np.abs(yy - centre) <= half) & (np.abs(xx - centre) <= half)  # ... on the half-pixel grid
    k = np.where(inside, k * noise, 0.0)
    k = _tilt_to_centre(k / k.sum(), centre)
    k = k / k.sum()
    draw = KernelDraw(float(var_1), float(var_2), float(angle))
    return (compose_x4(k) if scale == 4 else k), draw


def compose_x4(k2: np.ndarray) -> np.ndarray:
    """The x4 kernel equal to degrading twice by x2 with ``k2`` (``3n - 2`` square).

    ``k4[2r + s] = sum k2[r] k2[s]``: an aligned x2 kernel (centre ``n // 2 + 0.5``)
    gives an aligned x4 kernel (centre ``(3n - 2) // 2 + 1.5``).
    """
    n = k2.shape[0]
    big = np.zeros((3 * n - 2, 3 * n - 2))
    for r in range(n):
        for c in range(n):
            big[2 * r : 2 * r + n, 2 * c : 2 * c + n] += k2[r, c] * k2
    return big / big.sum()


def add_noise(
    image: np.ndarray, rng: np.random.Generator, gaussian: float = 0.0, poisson_peak: float | None = None
) -> np.ndarray:
    """Noise on a float image in [0, 1]: shot noise (``poisson_peak`` photons at 1.0), then Gaussian.

    ``gaussian`` is the standard deviation as a fraction of the full range (0.01 = 1 %).
    The result is clipped to [0, 1].
    """
    out = np.asarray(image, dtype=np.float64)
    if poisson_peak is not None:
        if poisson_peak <= 0:
            raise DualSRInputError(f"the Poisson peak must be positive (photons at full scale), got {poisson_peak}")
        out = rng.poisson(np.clip(out, 0, None) * poisson_peak) / poisson_peak
    if gaussian < 0:
        raise DualSRInputError(f"the Gaussian noise sigma must be >= 0, got {gaussian}")
    if gaussian > 0:
        out = out + rng.normal(0.0, gaussian, out.shape)
    return np.clip(out, 0.0, 1.0)


def crop_to_scale(hr: np.ndarray, scale: int) -> np.ndarray:
    """Crop ``hr`` so both sides are multiples of ``scale`` (HR = scale x LR exactly)."""
    h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
    return hr[:h, :w]


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size x size`` part (the whole side where the image is smaller)."""
    if not size:
        return image
    h, w = image.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[top : top + size, left : left + size]


def kernel_is_aligned(kernel: np.ndarray, scale: int = 2, atol: float = 1e-6) -> bool:
    """Whether ``kernel``'s centre of mass is on the aligned centre for ``scale``."""
    return bool(np.allclose(centre_of_mass(kernel), aligned_centre(kernel.shape[0], scale), atol=atol))


__all__ = [
    "KernelDraw",
    "add_noise",
    "aligned_centre",
    "centre_crop",
    "compose_x4",
    "crop_to_scale",
    "degrade",
    "kernel_is_aligned",
    "random_kernel",
]
