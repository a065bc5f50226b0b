"""The loss terms of eq. 2-7 and KernelGAN's kernel prior R, as pure functions.

Images are ``(B, C, H, W)``; kernels ``(n, n)``. All reductions are means, as in the
reference implementation (``nn.L1Loss`` / ``nn.MSELoss``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def shave_to(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Crop ``a`` symmetrically to ``b``'s height and width (the cycle-loss targets)."""
    dh, dw = a.shape[-2] - b.shape[-2], a.shape[-1] - b.shape[-1]
    if dh < 0 or dw < 0 or dh % 2 or dw % 2:
        raise ValueError(f"cannot shave {tuple(a.shape)} symmetrically to {tuple(b.shape)}")
    return a[..., dh // 2 : a.shape[-2] - dh // 2, dw // 2 : a.shape[-1] - dw // 2]


def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean of ``(D(.) - label)^2`` (eq. 3, 4)."""
    return ((prediction - (1.0 if real else 0.0)) ** 2).mean()


def cycle_l1(reconstruction: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """L1 between a reconstruction and its original shaved to the same size (eq. 5)."""
    return (reconstruction - shave_to(original, reconstruction)).abs().mean()


def sobel_magnitude(images: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradient magnitude of ``(B, C, H, W)``, zero padding."""
    b, c, h, w = images.shape
    kx = _SOBEL_X.to(images.device, images.dtype)
    weight = torch.stack([kx, kx.T])[:, None]  # (2, 1, 3, 3)
    g = F.conv2d(images.reshape(b * c, 1, h, w), weight, padding=1)
    return torch.sqrt(g[:, 0] ** 2 + g[:, 1] ** 2).reshape(b, c, h, w)


def interp_mask(bicubic: torch.Tensor) -> torch.Tensor:
    """Frequency mask of eq. 6: ``1 - clamp(Sobel(bicubic(x)), 0, 1)``."""
    return 1.0 - sobel_magnitude(bicubic).clamp(0.0, 1.0)


def masked_interp(upsampled: torch.Tensor, bicubic: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked interpolation loss of eq. 7: ``mean(|(G_UP(x) - bicubic(x)) * mask|)``."""
    return ((upsampled - bicubic) * mask).abs().mean()


# --- KernelGAN's kernel prior R (eq. 3) -------------------------------------------


def kernel_sum_to_one(kernel: torch.Tensor) -> torch.Tensor:
    return (1.0 - kernel.sum()).abs()


def kernel_boundaries(kernel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (kernel * mask).abs().mean()


def kernel_centralized(kernel: torch.Tensor, centre: float) -> torch.Tensor:
    """MSE of the kernel's centre of mass to ``(centre, centre)``."""
    idx = torch.arange(kernel.shape[0], dtype=kernel.dtype, device=kernel.device)
    total = kernel.sum()
    com = torch.stack([kernel.sum(1) @ idx, kernel.sum(0) @ idx]) / total
    return ((com - centre) ** 2).mean()


def kernel_sparsity(kernel: torch.Tensor, power: float = 0.2) -> torch.Tensor:
    return (kernel.abs() ** power).mean()


def bicubic_similarity(downsampled: torch.Tensor, hr: torch.Tensor, bicubic_kernel: torch.Tensor) -> torch.Tensor:
    """MSE of G_DN(y) to y downscaled with the x0.5 bicubic kernel (the same grid)."""
    b, c, h, w = hr.shape
    pad = (bicubic_kernel.shape[-1] - 1) // 2
    ref = F.conv2d(hr.reshape(b * c, 1, h, w), bicubic_kernel[None, None], stride=2, padding=pad)
    ref = ref.reshape(b, c, *ref.shape[-2:])
    return ((downsampled - shave_to(ref, downsampled)) ** 2).mean()
