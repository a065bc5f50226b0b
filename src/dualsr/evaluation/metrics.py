"""Image quality measures: the super-resolution papers' protocol (and the demo's PSNR).

The protocol DualSR's Table 1 (and KernelGAN, ZSSR, EDSR ...) reports:

- colour images are compared on the luma Y of MATLAB's ``rgb2ycbcr``:
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B in [0, 255]
  (Y in [16, 235]); grey images use their one channel, scaled to [0, 255];
- ``scale`` pixels are shaved off every border first;
- PSNR with peak 255; SSIM as Wang et al.'s MATLAB ``ssim_index``: an 11x11 Gaussian
  window with sigma 1.5 (normalised), only windows fully inside the image ('valid'),
  K1 = 0.01, K2 = 0.03, L = 255, no downsampling; the mean of the SSIM map.

Y is kept in floating point (MATLAB rounds it when given uint8; that changes PSNR by a
few hundredths of a dB at most).
"""

from __future__ import annotations

import numpy as np

from dualsr.paper.kernel import align

Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # MATLAB rgb2ycbcr, for [0, 1] RGB
Y_OFFSET = 16.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
PEAK = 255.0


def psnr(result: np.ndarray, reference: np.ndarray, data_range: float, shave: int = 2) -> float:
    """PSNR in dB between two equally shaped images, ``shave`` border pixels ignored."""
    a = np.asarray(result, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def to_y(image: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """Luma on the [0, 255] scale: MATLAB ``rgb2ycbcr``'s Y for RGB(A), the scaled image for grey.

    ``image`` is ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3|4)`` (alpha ignored) with
    values in [0, ``data_range``].
    """
    a = np.asarray(image, dtype=np.float64) * (PEAK / data_range)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[-1] == 1:
        return a[..., 0]
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        return Y_OFFSET + a[..., :3] @ Y_WEIGHTS / PEAK
    raise ValueError(f"expected a grey or RGB(A) image, got shape {a.shape}")


def shave_border(image: np.ndarray, shave: int) -> np.ndarray:
    return image[shave:-shave, shave:-shave] if shave else image


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: sums to 1."""
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    w = np.outer(g, g)
    return w / w.sum()


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``filter2(window, image, 'valid')`` (correlation; the window is separable)."""
    g = window.sum(axis=1)  # rank one: window = outer(g, g') / ...
    g_row = window.sum(axis=0)
    if not np.allclose(np.outer(g, g_row) / window.sum(), window):
        raise ValueError("the SSIM window must be separable")
    rows = np.lib.stride_tricks.sliding_window_view(image, len(g), axis=0) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, len(g_row), axis=1) @ (g_row / window.sum())


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float = PEAK) -> np.ndarray:
    """The SSIM map of two 2D images (Wang et al. 2004, 'valid' windows only)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two 2D images of the same shape, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    w = gaussian_window()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    var_a = _filter_valid(a * a, w) - mu_a**2
    var_b = _filter_valid(b * b, w) - mu_b**2
    cov = _filter_valid(a * b, w) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = PEAK) -> float:
    """Mean SSIM of two 2D images (MATLAB ``ssim_index`` defaults)."""
    return float(ssim_map(a, b, data_range).mean())


def sr_metrics(result: np.ndarray, reference: np.ndarray, scale: int = 2, data_range: float = 255.0) -> dict:
    """Y-channel PSNR and SSIM with ``scale`` pixels shaved: the paper's Table 1 protocol.

    ``result`` and ``reference`` share their shape and range ``[0, data_range]``
    (255 for 8-bit images). Quantise ``result`` to the reference's dtype first to
    score what a saved file would hold.
    """
    if np.shape(result) != np.shape(reference):
        raise ValueError(f"shapes differ: {np.shape(result)} vs {np.shape(reference)}")
    ya = shave_border(to_y(result, data_range), scale)
    yb = shave_border(to_y(reference, data_range), scale)
    return {"psnr": psnr(ya, yb, PEAK, shave=0), "ssim": ssim(ya, yb, PEAK)}


def _pad_to(kernel: np.ndarray, size: int) -> np.ndarray:
    k = np.zeros((size, size))
    top, left = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
    k[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
    return k


def comparable_kernels(estimate: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both kernels zero-padded to one odd square size, normalised to sum 1 and aligned.

    Aligning both (centre of mass on the same point) compares their shapes: a kernel
    shifted by a whole pixel blurs the same way, it only moves the image.
    """
    ks = [np.asarray(k, dtype=np.float64) for k in (estimate, truth)]
    for k in ks:
        if k.ndim != 2 or k.sum() <= 0 or not np.all(np.isfinite(k)):
            raise ValueError(f"kernels must be finite 2D arrays with a positive sum, got shape {k.shape}")
    size = max(max(k.shape) for k in ks) + 2
    size += 1 - size % 2
    out = []
    for k in ks:
        k = align(_pad_to(k / k.sum(), size))
        out.append(k / k.sum())
    return out[0], out[1]


def kernel_error(estimate: np.ndarray, truth: np.ndarray) -> dict:
    """MSE and largest absolute difference between two kernels after :func:`comparable_kernels`.

    The MSE averages over the larger kernel's square (the zero padding is not counted).

    Also the error relative to the true kernel's peak (``max_rel``), which reads like a
    percentage of the kernel's largest value.
    """
    footprint = max(max(np.shape(estimate)), max(np.shape(truth))) ** 2
    a, b = comparable_kernels(estimate, truth)
    diff = np.abs(a - b)
    return {
        "kernel_mse": float(np.sum(diff**2) / footprint),
        "kernel_max": float(diff.max()),
        "kernel_max_rel": float(diff.max() / b.max()),
    }


def kernel_covariance(kernel: np.ndarray) -> np.ndarray:
    """A kernel's 2x2 second moments about its centre of mass (px²): its spread and orientation,
    which a max error alone does not show (eigenvalues = variances along its principal axes)."""
    k = np.asarray(kernel, dtype=np.float64)
    total = k.sum()
    yy, xx = np.mgrid[0 : k.shape[0], 0 : k.shape[1]]
    d = np.stack([yy - (k * yy).sum() / total, xx - (k * xx).sum() / total])
    return np.einsum("ixy,jxy,xy->ij", d, d, k) / total


__all__ = [
    "comparable_kernels",
    "gaussian_window",
    "kernel_covariance",
    "kernel_error",
    "psnr",
    "sr_metrics",
    "ssim",
    "ssim_map",
    "to_y",
]
