"""The three networks of DualSR (paper fig. 2, sec. 4): G_UP, G_DN and D_DN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dualsr.paper.resize import bilinear_up2

G_DN_STRUCTURE = (7, 5, 3, 1, 1, 1)  # KernelGAN's deep linear generator
G_DN_STRIDE_LAYER = 2  # the 3x3 layer carries the stride 2
G_DN_KERNEL_SIZE = sum(k - 1 for k in G_DN_STRUCTURE) + 1  # 13: 7, 5 -> 11, then 3 (s2) -> 13


def relu_cnn(widths: list[int]) -> nn.Sequential:
    """G_UP's body: 3x3 convolutions ``widths[i] -> widths[i+1]``, ReLU between, none at the end;
    Kaiming-normal weights (fan_in, relu), zero biases."""
    body: list[nn.Module] = []
    for i in range(len(widths) - 1):
        body.append(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
        if i < len(widths) - 2:
            body.append(nn.ReLU(inplace=True))
    for m in body:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return nn.Sequential(*body)


class GeneratorUp(nn.Module):
    """G_UP: bilinear x2, then a ZSSR-like 8-layer CNN with a global residual.

    Input ``(B, C, H, W)`` in [0, 1] -> ``(B, C, 2H, 2W)``.
    """

    def __init__(self, channels: int = 3, layers: int = 8, features: int = 64, guide_channels: int = 0) -> None:
        super().__init__()
        self.channels = channels
        self.guide_channels = guide_channels  # a guide image read beside the input (noise_guide)
        self.body = relu_cnn([channels + guide_channels] + [features] * (layers - 1) + [channels])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: the input, then the guide's channels; the residual is added to the guide's x2."""
        up = bilinear_up2(x)
        return up[:, x.shape[1] - self.channels :] + self.body(up)


class GeneratorDown(nn.Module):
    """G_DN: KernelGAN's deep linear downsampler, one channel at a time.

    It has no bias and no activation, so it equals one 13x13 correlation with stride 2
    (:meth:`kernel`); training uses that exact shortcut, ``forward_layers`` keeps the
    layer-by-layer form for checking it. Input ``(B, C, H, W)`` -> ``(B, C, H', W')``
    with ``H' = (H - 13) // 2 + 1``.
    """

    def __init__(self, features: int = 64) -> None:
        super().__init__()
        widths = [1] + [features] * (len(G_DN_STRUCTURE) - 1) + [1]
        self.layers = nn.ModuleList(
            nn.Conv2d(
                widths[i],
                widths[i + 1],
                k,
                stride=2 if i == G_DN_STRIDE_LAYER else 1,
                bias=False,
            )
            for i, k in enumerate(G_DN_STRUCTURE)
        )
        for conv in self.layers:
            n = conv.weight[0].numel()  # fan-in
            nn.init.normal_(conv.weight, 1.0 / n, 1.0 / n)

    def kernel(self) -> torch.Tensor:
        """The composed ``(13, 13)`` correlation kernel, differentiable in the weights."""
        k = torch.ones(1, 1, 1, 1, device=self.layers[0].weight.device)
        for conv in self.layers:
            w = conv.weight
            k = F.conv2d(k, w, padding=w.shape[-1] - 1)
        return k[0, 0].flip(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return downsample_with_kernel(x, self.kernel())

    def forward_layers(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = x.reshape(b * c, 1, h, w)
        for conv in self.layers:
            y = conv(y)
        return y.reshape(b, c, *y.shape[-2:])


def downsample_with_kernel(x: torch.Tensor, kernel: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Correlate every channel of ``(B, C, H, W)`` with ``kernel`` (valid) and subsample."""
    b, c, h, w = x.shape
    y = F.conv2d(x.reshape(b * c, 1, h, w), kernel[None, None].to(x.dtype), stride=stride)
    return y.reshape(b, c, *y.shape[-2:])


class FixedDown(nn.Module):
    """G_DN replaced by a given kernel: the paper's "GT kernel + DualSR" (a measured PSF)."""

    def __init__(self, kernel: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("fixed_kernel", kernel.float())

    def kernel(self) -> torch.Tensor:
        return self.fixed_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return downsample_with_kernel(x, self.fixed_kernel)


class DiscriminatorDown(nn.Module):
    """D_DN: a PatchGAN with a 7x7 receptive field (KernelGAN's discriminator).

    Input ``(B, C, H, W)`` -> per-patch "real" probabilities ``(B, 1, H-6, W-6)``.
    """

    def __init__(
        self, channels: int = 3, layers: int = 7, features: int = 64, kernel_size: int = 7, init: str = "xavier"
    ) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        first = nn.Conv2d(channels, features, kernel_size)
        blocks: list[nn.Module] = []
        for _ in range(layers - 2):
            conv = nn.Conv2d(features, features, 1)
            bn = nn.BatchNorm2d(features)
            nn.init.normal_(bn.weight, 1.0, 0.02)
            nn.init.zeros_(bn.bias)
            blocks += [conv, bn, nn.ReLU(inplace=True)]
        last = nn.Conv2d(features, 1, 1)
        for conv in [first, last, *blocks[::3]]:
            # "xavier": what the reference code writes (Xavier-normal, gain 0.1). "reference": what
            # it runs: there the init reaches spectral norm's computed weight after a first forward,
            # not the parameter, so the convolutions keep PyTorch's default (~20x larger) weights.
            if init == "xavier":
                nn.init.xavier_normal_(conv.weight, gain=0.1)
            nn.init.zeros_(conv.bias)
        self.first = sn(first)
        self.body = nn.Sequential(*(sn(m) if isinstance(m, nn.Conv2d) else m for m in blocks))
        self.last = sn(last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.last(self.body(self.first(x))))
