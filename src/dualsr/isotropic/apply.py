"""Applying the trained upsampler to every XZ and YZ slice of a stack, and fusing the two results.

An XZ slice (fixed Y) has Z degraded and X sharp, exactly the pairs the model trained on;
so has a YZ slice. Each direction gives a whole volume: the XZ one knows X-Z structure,
the YZ one Y-Z structure. Fusing them (:func:`fuse`) averages out what either gets wrong.

``fuse`` offers three rules, measured in docs/isotropic.md: the mean, the geometric mean,
and a Fourier-domain fusion that takes, in every plane, each direction's result where it
is strong: weights ``kx^2 / (kx^2 + ky^2)`` for the XZ result and ``ky^2 / (kx^2 + ky^2)``
for the YZ one (1/2 each at k = 0). All three return a constant volume exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from dualsr.errors import Cancelled, DualSRInputError

FUSIONS = ("mean", "geometric", "fourier")
BATCH_PIXELS = 2_000_000  # output pixels per forward pass (bounds the activations' memory)


def upsample_slices(
    model: torch.nn.Module,
    volume: np.ndarray,
    along: str,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Every XZ (``along="x"``) or YZ (``along="y"``) slice of ``(Z, Y, X)`` upsampled along Z.

    Returns ``(Zo, Y, X)`` float32 with ``Zo = floor(Z * f)``.
    """
    if along not in ("x", "y"):
        raise ValueError(f"along must be 'x' or 'y' (got {along!r})")
    device = torch.device(device)
    z, h, w = volume.shape
    zo = int(np.floor(z * model.factor + 1e-6))
    out = np.empty((zo, h, w), np.float32)
    n_slices, width = (h, w) if along == "x" else (w, h)
    per = max(1, BATCH_PIXELS // (zo * width))
    done = 0
    with torch.no_grad():
        for start in range(0, n_slices, per):
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled on request")
            stop = min(start + per, n_slices)
            if along == "x":
                part = volume[:, start:stop, :].transpose(1, 0, 2)  # (Y', Z, X)
            else:
                part = volume[:, :, start:stop].transpose(2, 0, 1)  # (X', Z, Y)
            x = torch.from_numpy(np.ascontiguousarray(part, dtype=np.float32))[:, None].to(device)
            y = model(x)[:, 0].float().cpu().numpy()  # (n, Zo, width)
            if along == "x":
                out[:, start:stop, :] = y.transpose(1, 0, 2)
            else:
                out[:, :, start:stop] = y.transpose(1, 2, 0)
            done += stop - start
            if progress is not None:
                progress(done, n_slices)
    return out


def fourier_weights(h: int, w: int) -> np.ndarray:
    """Weight of the XZ result per 2-D frequency of a plane: ``kx^2 / (kx^2 + ky^2)``, 1/2 at 0."""
    ky = np.fft.fftfreq(h)[:, None] ** 2
    kx = np.fft.rfftfreq(w)[None, :] ** 2
    total = kx + ky
    with np.errstate(invalid="ignore", divide="ignore"):
        wx = np.where(total > 0, kx / np.where(total > 0, total, 1), 0.5)
    return wx


def fuse(from_xz: np.ndarray, from_yz: np.ndarray, rule: str = "mean") -> np.ndarray:
    """One volume from the XZ and YZ results (same shape, ``(Z, Y, X)``), by ``rule``."""
    if rule not in FUSIONS:
        raise DualSRInputError(f"unknown fusion {rule!r}; use one of {', '.join(FUSIONS)}")
    if rule == "mean":
        return (from_xz + from_yz) * np.float32(0.5)
    if rule == "geometric":
        # on intensities shifted to be positive; shifted back after (exact for equal inputs)
        low = np.float32(min(from_xz.min(), from_yz.min()))
        shift = np.float32(1.0) - low
        return np.sqrt((from_xz + shift) * (from_yz + shift)) - shift
    out = np.empty_like(from_xz)
    wx = fourier_weights(*from_xz.shape[1:]).astype(np.float32)
    for k in range(from_xz.shape[0]):
        a = np.fft.rfft2(from_xz[k])
        b = np.fft.rfft2(from_yz[k])
        out[k] = np.fft.irfft2(b + wx * (a - b), s=from_xz.shape[1:])
    return out
