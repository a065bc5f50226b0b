"""The blur kernel: alignment, the reported (final) kernel, and given kernels.

Convention: a kernel ``k`` of odd size ``n`` acts by ``LR = correlate(HR, k)[::2, ::2]``
(valid). LR pixel ``i`` then averages HR around ``2i + c`` where ``c`` is the kernel's
centre of mass; bicubic resizing puts LR pixel ``i`` at HR ``2i + 0.5``, so an aligned
kernel has its centre of mass at ``n // 2 + 0.5`` -- half a pixel past the middle
(KernelGAN's "final kernel", DIV2KRK's shifted kernels).
"""

from __future__ import annotations

import numpy as np

from dualsr.errors import DualSRInputError


def centre_of_mass(kernel: np.ndarray) -> np.ndarray:
    """(row, col) centre of mass of a 2D kernel."""
    total = kernel.sum()
    rows = np.arange(kernel.shape[0]) @ kernel.sum(axis=1) / total
    cols = np.arange(kernel.shape[1]) @ kernel.sum(axis=0) / total
    return np.array([rows, cols])


def aligned_centre(size: int) -> float:
    """Where an aligned x2 kernel of odd ``size`` has its centre of mass."""
    return size // 2 + 0.5


def fourier_shift(kernel: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Shift a 2D kernel by a (sub-pixel) ``(dy, dx)``, zero-padded so nothing wraps."""
    n0, n1 = kernel.shape
    padded = np.zeros((2 * n0, 2 * n1))
    padded[:n0, :n1] = kernel
    fy = np.fft.fftfreq(2 * n0)[:, None]
    fx = np.fft.fftfreq(2 * n1)[None, :]
    phase = np.exp(-2j * np.pi * (fy * shift[0] + fx * shift[1]))
    return np.real(np.fft.ifft2(np.fft.fft2(padded) * phase))[:n0, :n1]


def align(kernel: np.ndarray) -> np.ndarray:
    """Move the centre of mass of an odd-size kernel to ``n // 2 + 0.5`` on both axes."""
    wanted = np.full(2, aligned_centre(kernel.shape[0]))
    for _ in range(4):  # band-limited shifts ring a little; a few passes land the centre
        shift = wanted - centre_of_mass(kernel)
        if np.all(np.abs(shift) < 1e-6):
            break
        kernel = fourier_shift(kernel, shift)
    return kernel


def point_symmetric(kernel: np.ndarray, tolerance: float = 0.05) -> bool:
    """Whether an aligned x2 kernel is its own 180-degree rotation about its centre.

    The centre ``n // 2 + 0.5`` lies between pixels: one zero row and column at the end put
    it at the middle of an even array, which ``[::-1, ::-1]`` then rotates about. Every
    Gaussian is symmetric; ``tolerance`` (fraction of the peak) allows for the grid's cut tails.
    """
    k = np.pad(np.asarray(kernel, dtype=np.float64), ((0, 1), (0, 1)))
    return bool(np.abs(k - k[::-1, ::-1]).max() <= tolerance * k.max())


def keep_largest(kernel: np.ndarray, n: int) -> np.ndarray:
    """Zero all but the ``n`` largest values (KernelGAN's negligible-value cut)."""
    if n <= 0 or n >= kernel.size:
        return kernel
    threshold = np.sort(kernel.ravel())[-n]
    return np.where(kernel >= threshold, kernel, 0.0)


def final_kernel(raw: np.ndarray, keep_top: int = 40) -> np.ndarray:
    """The reported estimate: small values cut, sums to 1, aligned (float64)."""
    k = keep_largest(np.asarray(raw, dtype=np.float64), keep_top)
    k = np.clip(k, 0.0, None)
    if k.sum() <= 0:
        k = np.asarray(raw, dtype=np.float64)
    k = k / k.sum()
    k = align(k)
    return k / k.sum()


def prepare_known_kernel(kernel: np.ndarray, min_size: int = 13) -> np.ndarray:
    """A user's kernel (e.g. a measured PSF at the HR pixel size) made usable by G_DN.

    Checked (2D, finite, positive sum), normalised to sum 1, zero-padded to a square
    size ``n = 1 (mod 4)`` -- so that G_DN's output stays on the LR pixel grid of the
    cycle losses -- with room for alignment, then aligned.
    """
    k = np.asarray(kernel, dtype=np.float64)
    k = np.squeeze(k)
    if k.ndim != 2:
        raise DualSRInputError(
            f"the known kernel must be a 2D array, got shape {tuple(np.shape(kernel))}; pass one 2D PSF/kernel"
        )
    if not np.all(np.isfinite(k)):
        raise DualSRInputError("the known kernel has NaN or Inf values; pass a finite kernel")
    if k.sum() <= 0:
        raise DualSRInputError("the known kernel must have a positive sum; pass a blur kernel")
    if max(k.shape) > 63:
        raise DualSRInputError(f"the known kernel is {k.shape[0]}x{k.shape[1]}; at most 63x63 is supported, crop it")
    k = k / k.sum()
    size = max(min_size, max(k.shape) + 2)
    size += (1 - size) % 4  # next n with n % 4 == 1
    top = (size - k.shape[0]) // 2
    left = (size - k.shape[1]) // 2
    padded = np.zeros((size, size))
    padded[top : top + k.shape[0], left : left + k.shape[1]] = k
    aligned = align(padded)
    return aligned / aligned.sum()


def penalty_mask(size: int = 13, scale: float = 30.0) -> np.ndarray:
    """KernelGAN's boundary penalty: grows towards the border, zero in the centre."""
    z = np.arange(-size // 2 + 1, size // 2 + 1)
    g = np.exp(-(z**2) / (2 * size**2))
    mask = np.outer(g, g)
    mask = 1 - mask / mask.max()
    centre = size // 2 + size % 2
    margin = (size - centre) // 2 - 1
    mask[margin:-margin, margin:-margin] = 0
    return scale * mask


def gaussian_kernel(
    size: int, var_y: float, var_x: float, angle: float = 0.0, centre: float | None = None
) -> np.ndarray:
    """An anisotropic Gaussian, normalised, with its mean at ``centre`` (default aligned)."""
    c = aligned_centre(size) if centre is None else centre
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    cov = rot @ np.diag([var_y, var_x]) @ rot.T
    inv = np.linalg.inv(cov)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    d = np.stack([yy - c, xx - c], axis=-1)
    k = np.exp(-0.5 * np.einsum("...i,ij,...j->...", d, inv, d))
    return k / k.sum()
