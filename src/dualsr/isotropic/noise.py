"""A noisy stack: its acquired planes denoised before the profile, the training and the application.

Without it the network is trained on noisy in-plane crops and applied to noisy slices: each XZ or YZ
slice's noise is interpolated along Z into vertical streaks, and the blind profile reads the noise as
structure. Each acquired (XY) plane has its own noise, independent of its neighbours', so a 2-D
denoiser per plane is the right one: the ×2 path's (:func:`dualsr.noise.denoise.denoise`: shot and
read noise stabilised, non-local means refined by Wiener filtering), with the noise measured on the
stack itself and the same ``auto`` threshold. The result is the denoised stack made isotropic.

The blind slice profile is still estimated on the planes as acquired: a per-plane denoiser smooths
in-plane lines but leaves each slice's residual error independent of its neighbours', changing exactly
the in-plane against through-plane statistics the estimate compares. Measured on the real confocal
nucleus at factor 2: +36 % from the raw planes, +310 % from the denoised ones (misfit 0.19 -> 27);
MNI at 300 photons, factor 4: -1 % against -40 % (docs/isotropic.md, "Noisy stacks").

Measured (docs/isotropic.md, "Noisy stacks"): at factor 4 with 300 photons at full scale and 1 % read
noise, scored against the clean object, XZ gain over B-spline without / with: the synthetic volume
+2.36 / +4.15 dB, MNI152 +1.03 / +4.12 dB (B-spline of the denoised stack: +0.95, +2.12).
"""

from __future__ import annotations

import numpy as np

from dualsr.config import DEFAULT_DENOISER, NOISY_THRESHOLD
from dualsr.errors import DualSRInputError
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import MIN_SIDE, NoiseEstimate
from dualsr.noise.model import NoisePlan, plan_noise

SAMPLE_PLANES = 8  # planes the noise is measured on, evenly spaced
SAMPLE_SIDE = 256  # their central crop, at most
# pixels a denoised plane's value depends on, each side: non-local means' patch radius 2 plus search
# distance 6, then two Wiener passes over 8-pixel blocks (7 each); the block path reads this much more
DENOISE_REACH = 24


def plan_stack_noise(mode: str, volume: np.ndarray, threshold: float = NOISY_THRESHOLD) -> NoisePlan:
    """Measure the noise of ``(Z, Y, X)`` ``volume`` on up to ``SAMPLE_PLANES`` planes (central crops, side by
    side) and decide: ``off``, ``on`` or ``auto`` (above ``threshold`` of full scale)."""
    z, h, w = volume.shape
    if mode != "off" and min(h, w) < MIN_SIDE:
        raise DualSRInputError(
            f"the planes are {h}x{w} pixels, too small to measure their noise ({MIN_SIDE}x{MIN_SIDE} at least); "
            "turn the noise model off (--noise off; in napari, noise model off)"
        )
    y0, x0 = max((h - SAMPLE_SIDE) // 2, 0), max((w - SAMPLE_SIDE) // 2, 0)
    picks = np.unique(np.linspace(0, z - 1, min(z, SAMPLE_PLANES)).round().astype(int))
    crops = [np.asarray(volume[i, y0 : y0 + SAMPLE_SIDE, x0 : x0 + SAMPLE_SIDE]) for i in picks]
    return plan_noise(mode, np.concatenate(crops, axis=1)[None], threshold)


def denoise_stack(volume: np.ndarray, estimate: NoiseEstimate, method: str = DEFAULT_DENOISER) -> np.ndarray:
    """Every XY plane of ``volume`` denoised (a new array, same dtype); the input is left as it is."""
    return np.stack([denoise(plane, estimate, method=method) for plane in np.asarray(volume)])


__all__ = ["DENOISE_REACH", "denoise_stack", "plan_stack_noise"]
