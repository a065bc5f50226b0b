"""The x2 kernel a real camera implies: pixel integration, not the scene's blur.

A camera records the optically blurred scene integrated over each pixel. Super-resolving x2
means recovering what a camera with pixels half as wide would record through the same optics;
a coarse pixel is the sum of the four fine pixels it covers, so

    LR = (HR * box2x2)↓2    exactly, whatever the optics,

and the optical blur belongs to the scene at both scales (Irani & Peleg's camera model, and why
a blind estimate that reads the scene's own smoothness as blur over-sharpens a real
acquisition). The 2x2 box is the narrowest x2 kernel an acquisition can have: each LR pixel
averages at least the area of two HR pixels per side. A fill factor below 1 narrows the
pixel's aperture inside its pitch, and crosstalk between neighbours (the sensor MTF) widens it;
both act on the HR and the LR camera alike, so the x2 kernel stays close to the box:
``residual`` adds a Gaussian of that covariance (HR pixels^2) for a sensor that differs.
"""

from __future__ import annotations

import numpy as np

from dualsr.paper.kernel import aligned_centre

KERNEL_SIZE = 13  # as G_DN's composed kernel and DIV2KRK's gt_k_x2
BOX_VARIANCE = 0.25  # per axis, HR pixels^2: a uniform distribution over two pixels


def camera_kernel(size: int = KERNEL_SIZE, residual: np.ndarray | float | None = None) -> np.ndarray:
    """The aligned x2 kernel of pixel integration: a 2x2 box (centre of mass at ``size // 2 + 0.5``),
    convolved with a Gaussian of covariance ``residual`` (HR pixels^2; None or 0: the box alone)."""
    if size % 2 == 0 or size < 3:
        raise ValueError(f"an x2 kernel has an odd size of at least 3, got {size}")
    k = np.zeros((size, size))
    c = size // 2
    k[c : c + 2, c : c + 2] = 0.25
    if residual is None:
        return k
    cov = np.eye(2) * float(residual) if np.ndim(residual) == 0 else np.asarray(residual, dtype=float)
    if not np.any(cov):
        return k
    g = _centred_gaussian(size, cov)
    out = np.real(np.fft.ifft2(np.fft.fft2(k) * np.fft.fft2(np.fft.ifftshift(g))))
    out = np.clip(out, 0.0, None)
    return out / out.sum()


def _centred_gaussian(size: int, cov: np.ndarray) -> np.ndarray:
    """A Gaussian of covariance ``cov`` centred on the middle pixel of a ``size`` grid (sums to 1)."""
    r = np.arange(size) - size // 2
    yy, xx = np.meshgrid(r, r, indexing="ij")
    pts = np.stack([yy, xx], -1)
    inv = np.linalg.inv(cov + 1e-9 * np.eye(2))
    g = np.exp(-0.5 * np.einsum("...i,ij,...j->...", pts, inv, pts))
    return g / g.sum()


def kernel_covariance(kernel: np.ndarray) -> np.ndarray:
    """The second central moments of an x2 kernel (HR pixels^2): 0.25 I for the box."""
    k = np.asarray(kernel, dtype=np.float64)
    k = k / k.sum()
    r = np.arange(k.shape[0]) - aligned_centre(k.shape[0])
    yy, xx = np.meshgrid(r, r, indexing="ij")
    return np.array([[np.sum(k * yy * yy), np.sum(k * yy * xx)], [np.sum(k * yy * xx), np.sum(k * xx * xx)]])


__all__ = ["BOX_VARIANCE", "camera_kernel", "kernel_covariance"]
