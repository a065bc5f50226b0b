"""The DualSR iteration on a noisy image: ``LR = (HR * k)↓2 + n`` (see :mod:`dualsr.noise.model`).

Patches carry the noisy channels, then their clean copy (the losses' targets), then, with
``config.noise_guide``, the copy the exported denoiser makes (the guided G_UP's second input);
G_DN's output gets noise with the image's statistics before G_UP and D_DN see it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from dualsr.config import DualSRConfig
from dualsr.noise.denoise_net import ShotNoiseDenoiser
from dualsr.noise.model import GuidedUp, add_noise
from dualsr.paper.networks import GeneratorUp
from dualsr.paper.step import DualSRStep


class NoiseAwareStep(DualSRStep):
    """:class:`DualSRStep` with the noise model: ``clean`` is the image denoised (same shape),
    ``noise`` its ``(gain, offset variance)`` on the normalised scale."""

    def __init__(
        self,
        image: np.ndarray,
        config: DualSRConfig,
        device: torch.device,
        known_kernel: np.ndarray | None,
        clean: np.ndarray,
        noise: tuple[float, float],
        soften: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.clean, self.noise = clean, noise
        self.guided = config.noise_guide
        super().__init__(image, config, device, known_kernel, soften)

    def _make_g_up(self) -> torch.nn.Module:
        c, channels = self.config, self.channels
        g_up = GeneratorUp(channels, c.up_layers, c.up_features, channels if self.guided else 0).to(self.device)
        return GuidedUp(g_up, ShotNoiseDenoiser(self.noise, channels)).to(self.device) if self.guided else g_up

    def _training_image(self, image: np.ndarray) -> np.ndarray:
        """The noisy channels, their clean copy, and the guide (a guided G_UP's denoised input)."""
        self.noise_generator = torch.Generator(self.device).manual_seed(self.config.seed + 1)
        blocks = [image, self.clean]
        if self.guided:
            blocks.append(self.g_up.denoise_image(image))
        return np.concatenate(blocks, axis=-3)

    def _up(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """G_UP's x2 of ``x``; a guided G_UP reads ``guide`` (the denoised ``x``, made if not given)."""
        if not self.guided:
            return super()._up(x)
        with self.autocast():
            out = self.g_up(x, guide)
        return out.float()

    def _split(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(as seen, clean target)`` of a batch."""
        c = self.channels
        return patches[:, :c], patches[:, c : 2 * c]

    def _guide(self, patches: torch.Tensor) -> torch.Tensor | None:
        return patches[:, 2 * self.channels :] if self.guided else None

    def _seen(self, lr: torch.Tensor) -> torch.Tensor:
        return add_noise(lr, self.noise, self.noise_generator)


__all__ = ["NoiseAwareStep"]
