"""Training on a noisy image: the degradation ``LR = (HR * k)↓2 + n`` (not in the paper).

DualSR's model has no noise. On a noisy image G_UP then learns to reproduce the noise at
x2: the forward cycle asks it to explain every noise grain of x, and the backward cycle
shows it only noise-free inputs (G_DN averages the noise away). With a noise model the
engine instead

- measures the noise from the image itself (:func:`dualsr.noise.estimate.estimate_noise`) and decides
  (``auto``: above :data:`dualsr.config.NOISY_THRESHOLD`) whether to act on it;
- takes the HR-role targets from a denoised copy of the image (:func:`dualsr.noise.denoise.denoise`):
  the cycles and the interpolation loss compare with clean patches, while G_UP still reads
  the noisy ones, as it will at inference;
- adds noise with the measured statistics to G_DN's output before G_UP (backward cycle) and
  D_DN see it, so that both meet LR patches as noisy as the real ones.

- with ``noise_guide`` (the ``fast`` default), gives G_UP the image denoised by the same filter
  beside the raw one (:class:`GuidedUp`, the filter in torch: :mod:`dualsr.noise.denoise_net`), so it
  learns where the denoiser is right and where to put back the texture it smoothed.

G_UP thus learns denoising and x2 in one network: its ONNX file takes the raw noisy image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dualsr.config import DEFAULT_DENOISER, NOISE_MODES, NOISY_THRESHOLD, check_choice
from dualsr.noise.denoise import denoise
from dualsr.noise.estimate import NoiseEstimate, estimate_noise


@dataclass(frozen=True)
class NoisePlan:
    """What the engine decided about noise, and why (reported with the result)."""

    active: bool
    reason: str  # one line for the user
    estimate: NoiseEstimate | None = None

    def to_dict(self) -> dict:
        return {
            "active": self.active,
            "reason": self.reason,
            **({"estimate": self.estimate.to_dict()} if self.estimate else {}),
        }


def _first_plane(chosen: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` of the training data (the first plane of a stack ``(P, C, H, W)``)."""
    return chosen if chosen.ndim == 3 else chosen[0]


def plan_noise(mode: str, chosen: np.ndarray, threshold: float = NOISY_THRESHOLD) -> NoisePlan:
    """Decide on the raw training data ``(C, H, W)`` or ``(P, C, H, W)``: ``off``, ``on`` or ``auto``."""
    check_choice("noise mode", mode, NOISE_MODES)
    if mode == "off":
        return NoisePlan(False, "noise model off")
    plane = _first_plane(chosen)
    estimate = estimate_noise(plane[0] if plane.shape[0] == 1 else plane, None if plane.shape[0] == 1 else 0)
    active = mode == "on" or estimate.level > threshold
    why = "forced" if mode == "on" else f"auto, threshold {100 * threshold:g} %"
    photons = f", ~{estimate.photons_full_scale:.0f} photons full scale" if estimate.photons_full_scale else ""
    measured = f"noise {100 * estimate.level:.1f} % of full scale at mid-scale ({estimate.model}{photons})"
    return NoisePlan(active, f"noise model {'on' if active else 'off'} ({why}): {measured}", estimate)


def clean_copy(chosen: np.ndarray, estimate: NoiseEstimate, method: str = DEFAULT_DENOISER) -> np.ndarray:
    """The raw training data denoised, plane by plane, channels jointly: same shape and dtype."""
    planes = chosen[None] if chosen.ndim == 3 else chosen
    out = []
    for plane in planes:
        if plane.shape[0] == 1:
            out.append(denoise(plane[0], estimate, method=method)[None])
        else:
            out.append(denoise(plane, estimate, channel_axis=0, method=method))
    clean = np.stack(out)
    return clean[0] if chosen.ndim == 3 else clean


def unit_noise(estimate: NoiseEstimate, low: float, high: float) -> tuple[float, float]:
    """``(gain, offset variance)`` of the noise on data normalised as ``(raw - low) / (high - low)``."""
    unit = estimate.in_unit_range(low, high)
    return float(unit.gain), float(unit.offset_variance)


def add_noise(lr: torch.Tensor, model: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """``lr`` plus noise of variance ``gain * lr + offset`` (Gaussian approximation of shot noise)."""
    gain, offset = model
    std = (gain * lr.detach() + offset).clamp(min=0.0).sqrt()
    return lr + std * torch.randn(lr.shape, generator=generator, device=lr.device, dtype=lr.dtype)


class GuidedUp(torch.nn.Module):
    """G_UP reading the image and its denoised copy (``config.noise_guide``).

    ``(B, C, H, W)`` -> ``(B, C, 2H, 2W)``. The denoiser (:class:`dualsr.noise.denoise_net.ShotNoiseDenoiser`)
    is part of the module, so the ONNX file takes the raw noisy image as before. G_UP's
    residual is added to the denoised copy's x2: it learns where to put back what the
    denoiser smoothed away and where the raw pixels are only noise.
    """

    margin = 32  # LR pixels an output depends on: NLM 8, two Wiener passes 14, G_UP 5 (tiling)

    def __init__(self, g_up: torch.nn.Module, denoiser: torch.nn.Module) -> None:
        super().__init__()
        self.g_up, self.denoiser = g_up, denoiser

    def guide(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` denoised: a fixed filter, so no gradient through it, and float32 even under bf16
        autocast (its variance-stabilised values reach ~35 with noise of 1: bf16 would add noise)."""
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            return self.denoiser(x.float()).to(x.dtype)

    def forward(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        return self.g_up(torch.cat([x, self.guide(x) if guide is None else guide], dim=1))

    def denoise_image(self, image: np.ndarray) -> np.ndarray:
        """The denoised copy of normalised ``(C, H, W)`` or ``(P, C, H, W)`` training data."""
        device = next(self.g_up.parameters()).device
        planes = image[None] if image.ndim == 3 else image
        out = [self.guide(torch.as_tensor(p[None], dtype=torch.float32, device=device))[0] for p in planes]
        guide = torch.stack(out).cpu().numpy().astype(image.dtype)
        return guide[0] if image.ndim == 3 else guide


__all__ = ["NOISE_MODES", "GuidedUp", "NoisePlan", "add_noise", "clean_copy", "plan_noise", "unit_noise"]
