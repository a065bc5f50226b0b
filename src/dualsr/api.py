"""The Python API: ``train`` an image, get its x2 image, kernel, history and model.

This is where arrays as people have them (any dtype, axes, stacks, RGB(A)) meet the
training loop, which works on normalised ``(C, H, W)`` planes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .axes import Layout, Planes
from .backprojection import MIN_STEP, BackProjection, noisy_step
from .config import DualSRConfig, preset
from .convergence import KNOWN, NOT_SETTLED, SETTLED
from .device import resolve_device
from .errors import DualSRInputError
from .kernel import final_kernel, point_symmetric, prepare_known_kernel
from .networks import GeneratorUp
from .noise_aware import GuidedUp, NoisePlan, clean_copy, plan_noise, unit_noise
from .normalize import Normalization, fit_normalization
from .preview import Bicubic, Bilinear, Previewer
from .resize import bicubic_resize, bilinear_up2
from .spectral_kernel import SpectralEstimate, estimate_kernel
from .tiling import cpu_fallback, model_margin, upsample_planes
from .trainer import PlaneTraining, StepInfo, train_plane

CHANNEL_MODES = ("auto", "joint", "independent")


class GroupedUpsampler(nn.Module):
    """One G_UP per channel group, put back in channel order; RGBA alpha by bicubic.

    ``(B, C, H, W)`` -> ``(B, C, 2H, 2W)``; the module that gets exported to ONNX.
    ``ensemble`` averages the x2 of the input with the x2 of the input rotated by 180
    degrees, rotated back (``config.self_ensemble``). ``projections`` (per group, or None)
    then back-project each group's x2 onto its LR (``config.back_projection``).
    """

    def __init__(
        self,
        models: list[GeneratorUp],
        groups: list[list[int]],
        alpha: int | None = None,
        ensemble: bool = False,
        projections: list[BackProjection | None] | None = None,
    ) -> None:
        super().__init__()
        self.models = nn.ModuleList(models)
        self.groups = [list(g) for g in groups]
        self.alpha = alpha
        self.ensemble = ensemble
        chosen = projections or [None] * len(models)
        self.projections = nn.ModuleList([nn.Identity() if p is None else p for p in chosen])
        order = [c for g in groups for c in g] + ([alpha] if alpha is not None else [])
        self.inverse = [order.index(c) for c in range(len(order))]

    @property
    def margin(self) -> int:
        """LR pixels of context tiles need: G_UP's reach, then the back-projection's (tiling.model_margin)."""
        projections = [p.margin for p in self.projections if isinstance(p, BackProjection)]
        return max(model_margin(m) for m in self.models) + max(projections, default=0)

    @property
    def back_projection(self) -> int:
        """Back-projection steps applied (0: none)."""
        return max((p.steps for p in self.projections if isinstance(p, BackProjection)), default=0)

    @property
    def back_projection_step(self) -> float:
        """The size of each back-projection step (1: the whole residual; 0: none applied)."""
        return max((p.step for p in self.projections if isinstance(p, BackProjection)), default=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        guides = [m.guide(x[:, g]) if isinstance(m, GuidedUp) else None for m, g in zip(self.models, self.groups)]
        if not self.ensemble:
            return self._project(x, guides, self._upsample(x, guides))
        # a guided G_UP's denoiser is run once: the half turn of its output serves the turned pass
        turned_guides = [None if g is None else torch.flip(g, (-2, -1)) for g in guides]
        turned = torch.flip(self._upsample(torch.flip(x, (-2, -1)), turned_guides), (-2, -1))
        return self._project(x, guides, 0.5 * (self._upsample(x, guides) + turned))

    def _project(self, x: torch.Tensor, guides: list[torch.Tensor | None], out: torch.Tensor) -> torch.Tensor:
        """Each group's x2 back-projected onto its LR: the input, or its denoised copy (a guided G_UP's)."""
        if not self.back_projection:
            return out
        channels = list(out.unbind(1))
        for p, g, d in zip(self.projections, self.groups, guides):
            if isinstance(p, BackProjection):
                done = p(torch.stack([channels[c] for c in g], 1), x[:, g] if d is None else d)
                for i, c in enumerate(g):
                    channels[c] = done[:, i]
        return torch.stack(channels, 1)

    def _upsample(self, x: torch.Tensor, guides: list[torch.Tensor | None]) -> torch.Tensor:
        outs = [m(x[:, g]) if d is None else m(x[:, g], d) for m, g, d in zip(self.models, self.groups, guides)]
        if self.alpha is not None:
            alpha = x[:, self.alpha : self.alpha + 1]
            outs.append(bilinear_alpha(alpha))
        out = torch.cat(outs, dim=1)
        if self.inverse != list(range(len(self.inverse))):
            out = out[:, self.inverse]
        return out


def bilinear_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha (coverage) is upsampled by interpolation, never by a learned model."""
    return bilinear_up2(alpha).clamp(0.0, 1.0)


@dataclass
class DualSRResult:
    """Everything one training produces."""

    image: np.ndarray  # the x2 image, input axes and dtype
    kernel: np.ndarray  # (n, n), or (G, n, n) for independently trained channel groups
    history: list[dict[str, np.ndarray]]  # per channel group: loss name -> values per step
    upsampler: GroupedUpsampler
    axes: str
    plane: int | list[int]  # the flat training plane, or the list of them (several planes)
    normalization: Normalization
    config: DualSRConfig
    device: str
    steps: int
    stopped: bool
    seconds: float
    known_kernel: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = ""  # set when training ended early by itself (out of memory)
    kernel_state: str = KNOWN  # known / settled / not settled (dualsr.convergence)
    kernel_change: float = float("nan")  # the kernel's last measured change, fraction of its peak
    kernel_estimates: list[SpectralEstimate] = field(default_factory=list)  # spectral estimator, per group
    noise: NoisePlan | None = None  # what the engine decided about noise (config.noise)

    @property
    def kernel_warning(self) -> str:
        """One line for the user when the blind kernel had not settled, else ``""``."""
        if self.kernel_state != NOT_SETTLED:
            return ""
        problems = [p for e in self.kernel_estimates for p in e.problems]
        if problems:
            return (
                f"the blind kernel estimate is uncertain: {'; '.join(dict.fromkeys(problems))}; the x2 image may be "
                "over- or under-sharpened: compare it with bicubic, or give a known kernel (a measured PSF)"
            )
        window = self.config.settle_window
        moved = (
            f"by {self.kernel_change:.0%} of its peak over the last {window} steps"
            if np.isfinite(self.kernel_change)
            else f"(fewer than the {window} steps needed to tell)"
        )
        return (
            f"the blind kernel estimate was still changing after {self.steps} steps {moved}; the x2 image "
            "may be over- or under-sharpened: train longer (more iterations) or give a known kernel"
        )

    def upsample(
        self,
        image: np.ndarray,
        axes: str | None = None,
        tile: int | None = 512,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Apply the trained upsampler to another image (e.g. from the same instrument)."""
        return upsample(
            self.upsampler,
            image,
            axes=axes,
            mode=self.normalization.mode,
            device=self.device,
            tile=tile,
            progress=progress,
        )

    def export_onnx(self, path: str | os.PathLike, opset: int = 17) -> Path:
        """Write the upsampler as a self-describing ONNX file (see :mod:`dualsr.onnx_export`)."""
        from .onnx_export import export_onnx

        return export_onnx(self, path, opset=opset)

    def summary(self) -> dict[str, Any]:
        """JSON-able description: config, axes, plane, normalisation, timing."""
        return {
            "config": self.config.to_dict(),
            "axes": self.axes,
            "plane": self.plane,
            "normalization": self.normalization.to_dict(),
            "device": self.device,
            "steps": self.steps,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 2),
            "known_kernel": self.known_kernel,
            "channel_groups": self.upsampler.groups,
            "self_ensemble": self.upsampler.ensemble,
            "back_projection": self.upsampler.back_projection,
            "back_projection_step": round(self.upsampler.back_projection_step, 4),
            "kernel_state": self.kernel_state,
            **({"kernel_estimate": [e.to_dict() for e in self.kernel_estimates]} if self.kernel_estimates else {}),
            **({"noise": self.noise.to_dict()} if self.noise else {}),
            **({"kernel_change": round(self.kernel_change, 4)} if np.isfinite(self.kernel_change) else {}),
            **({"kernel_warning": self.kernel_warning} if self.kernel_warning else {}),
            **({"stop_reason": self.stop_reason} if self.stop_reason else {}),
        }


def check_image(image: Any, config: DualSRConfig | None = None) -> np.ndarray:
    """The input as a numeric ndarray, or a DualSRInputError that says what to do."""
    data = np.asarray(image)
    if data.size == 0:
        raise DualSRInputError(f"the image is empty (shape {data.shape}); pass an image with pixels")
    if data.dtype == bool or not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise DualSRInputError(f"images of dtype {data.dtype} are not supported; convert to uint8, uint16 or float32")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise DualSRInputError(f"the image has {bad} NaN/Inf pixels; replace them (e.g. with 0 or the median) first")
    return data


def _groups(layout: Layout, mode: str) -> tuple[list[list[int]], int | None]:
    if mode not in CHANNEL_MODES:
        raise DualSRInputError(f"unknown channel mode {mode!r}; use one of {', '.join(CHANNEL_MODES)}")
    c = layout.channels
    alpha = 3 if layout.is_rgb and c == 4 and mode != "independent" else None
    trained = [i for i in range(c) if i != alpha]
    joint = mode == "joint" or (mode == "auto" and (layout.is_rgb or c == 1))
    return ([trained] if joint else [[i] for i in trained]), alpha


def _known_kernels(known_kernel: np.ndarray | None, groups: int) -> list[np.ndarray | None]:
    if known_kernel is None:
        return [None] * groups
    k = np.asarray(known_kernel, dtype=np.float64)
    if k.ndim == 3 and k.shape[0] == groups:
        return [prepare_known_kernel(ki) for ki in k]
    return [prepare_known_kernel(k)] * groups


def train(
    image: Any,
    *,
    axes: str | None = None,
    config: DualSRConfig | None = None,
    preset_name: str = "paper",
    iterations: int | None = None,
    seed: int | None = None,
    plane: Planes = None,
    channel_mode: str = "auto",
    known_kernel: np.ndarray | None = None,
    normalization: str = "auto",
    device: str = "auto",
    tile: int | None = 512,
    progress: Callable[[StepInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    apply_progress: Callable[[int, int], None] | None = None,
) -> DualSRResult:
    """Train DualSR on one plane of ``image`` (or several) and super-resolve every plane by x2.

    ``config`` (or ``preset_name`` with ``iterations``/``seed``) sets the method;
    ``axes`` names the dimensions (``YX``, ``YXC``, ``CYX``, ``ZYX``, ``TZCYX`` ...);
    ``plane`` picks the training plane of a stack (default: the middle one): an int, a
    stack index tuple, or several as a list/range or ``"all"`` (patches from all of them,
    one kernel, one upsampler);
    ``channel_mode``: ``joint`` trains one model on all channels (RGB, as the paper),
    ``independent`` one per channel (fluorescence); ``auto`` picks by the axes.
    ``known_kernel`` replaces G_DN by a given kernel (the paper's "GT kernel + DualSR").
    ``should_stop`` is polled every step; a stopped run still returns its result.
    ``progress`` gets a ``StepInfo`` every 10 steps, with ``preview`` (:mod:`dualsr.preview`).
    """
    config = config or preset(preset_name, iterations=iterations)
    if seed is not None:
        config = config.with_(seed=seed)
    data = check_image(image)
    layout = Layout.of(data.shape, axes)
    if min(layout.height, layout.width) < config.min_image_size:
        raise DualSRInputError(
            f"the image is {layout.height}x{layout.width} pixels; DualSR needs at least "
            f"{config.min_image_size}x{config.min_image_size} ({config.hr_crop}px patches + "
            f"{config.border_shave}px border); use a larger image or a bigger field of view"
        )
    torch_device = resolve_device(device)
    groups, alpha = _groups(layout, channel_mode)
    per_channel = len(groups) > 1
    norm = fit_normalization(data, normalization, channel_axis=layout.axes.index("C") if per_channel else None)
    planes = layout.canonical(data)
    indices = layout.plane_indices(plane)
    chosen = planes[indices[0]] if len(indices) == 1 else planes[indices]  # (C, H, W) or (P, C, H, W)
    c_axis = chosen.ndim - 3 if per_channel else None
    train_data = norm.apply(chosen, channel_axis=c_axis)
    noise = plan_noise(config.noise, chosen, config.noise_threshold)
    clean_data = None
    if noise.active:
        clean_data = norm.apply(clean_copy(chosen, noise.estimate, config.denoiser), channel_axis=c_axis)
    previewer = Previewer(layout, planes, norm, 1 if per_channel else None, torch_device, indices[0])
    kernels = _known_kernels(known_kernel, len(groups))

    start = time.perf_counter()
    runs: list[PlaneTraining] = []
    estimates: list[SpectralEstimate] = []
    fixed: list[np.ndarray | None] = []  # per group: the kernel held fixed (known or estimated), or None
    report = _with_preview(
        progress,
        previewer,
        runs,
        (groups, alpha),
        lambda: _ensemble_allowed(config, fixed),
        lambda models: _projections(config, fixed, noise, models),
    )
    for group, k in zip(groups, kernels):
        part = slice(group[0], group[-1] + 1)  # groups are runs of channels: views, not copies
        channels = train_data[..., part, :, :]
        clean = None if clean_data is None else clean_data[..., part, :, :]
        state = KNOWN
        if k is None and config.kernel_estimator == "spectral":
            estimates.append(_spectral_estimate(channels, clean, config))
            k, state = estimates[-1].kernel, SETTLED if estimates[-1].settled else NOT_SETTLED
        fixed.append(k)
        model = unit_noise(noise.estimate, norm.low[group[0]], norm.high[group[0]]) if noise.active else None
        run = train_plane(
            channels,
            config,
            torch_device,
            known_kernel=k,
            progress=report,
            should_stop=should_stop,
            fixed_state=state,
            clean=clean,
            noise=model,
        )
        runs.append(run)
        if run.stopped:
            break
    models = [r.g_up for r in runs]
    while len(models) < len(groups):  # stopped before these groups: bilinear-only upsampler
        models.append(_bilinear_only(len(groups[len(models)]), config).to(torch_device))
    reported = [final_kernel(r.raw_kernel, config.kernel_keep_top) if k is None else k for r, k in zip(runs, fixed)]
    projections = _projections(config, reported, noise, models)
    upsampler = GroupedUpsampler(models, groups, alpha, _ensemble_allowed(config, fixed), projections).eval()
    sr = upsample(
        upsampler, data, axes=layout.axes, norm=norm, device=str(torch_device), tile=tile, progress=apply_progress
    )
    kernel = reported[0] if len(reported) == 1 else np.stack(_same_size(reported))
    return DualSRResult(
        image=sr,
        kernel=kernel,
        history=[r.history for r in runs],
        upsampler=upsampler,
        axes=layout.axes,
        plane=indices[0] if len(indices) == 1 else indices,
        normalization=norm,
        config=config,
        device=str(torch_device),
        steps=sum(r.steps for r in runs),
        stopped=any(r.stopped for r in runs),
        seconds=time.perf_counter() - start,
        known_kernel=known_kernel is not None,
        stop_reason=next((r.stop_reason for r in runs if r.stop_reason), ""),
        kernel_state=_worst_state([r.kernel_state for r in runs]),
        kernel_change=max((r.kernel_change for r in runs if np.isfinite(r.kernel_change)), default=float("nan")),
        kernel_estimates=estimates,
        noise=noise if config.noise != "off" else None,
    )


def _spectral_estimate(channels: np.ndarray, clean: np.ndarray | None, config: DualSRConfig) -> SpectralEstimate:
    """The spectral kernel of the training data; on a noisy image as ``config.noise_kernel`` says."""
    if clean is None:
        return estimate_kernel(channels)
    if config.noise_kernel == "clean_copy":
        return estimate_kernel(clean)
    return estimate_kernel(channels, noisy=True)


def _ensemble_allowed(config: DualSRConfig, fixed: list[np.ndarray | None]) -> bool:
    """``config.self_ensemble`` where every group's kernel was held fixed and is point-symmetric.

    The 180-degree turn of an image blurred by ``k`` is blurred by ``k`` turned: the same
    kernel only when it is symmetric. A learned (GAN) kernel is not held fixed: no ensemble.
    """
    return config.self_ensemble and all(k is not None and point_symmetric(k) for k in fixed)


def _projections(
    config: DualSRConfig, kernels: list[np.ndarray | None], noise: NoisePlan, models: list[nn.Module]
) -> list[BackProjection | None]:
    """Per channel group, its back-projection (``config.back_projection``), or None.

    With the noise model on, a guided G_UP's x2 is projected onto its denoised copy with the step
    shrunk by the noise (:func:`dualsr.backprojection.noisy_step`; none below ``MIN_STEP``); an
    unguided one has no clean LR to project onto. Groups without a kernel (stopped before they
    ran; a GAN kernel still learning, in a preview): None.
    """
    if not config.back_projection:
        return [None] * len(models)
    step = config.back_projection_step
    if noise.active:
        step *= noisy_step(noise.estimate.level, config.back_projection_noise)
    if step < MIN_STEP:
        return [None] * len(models)
    out: list[BackProjection | None] = []
    for i, model in enumerate(models):
        usable = i < len(kernels) and kernels[i] is not None and (not noise.active or isinstance(model, GuidedUp))
        out.append(BackProjection(torch.as_tensor(kernels[i]), config.back_projection, step) if usable else None)
    return out


def _same_size(kernels: list[np.ndarray]) -> list[np.ndarray]:
    """Kernels zero-padded (centred) to the largest one's size, to stack them."""
    n = max(k.shape[0] for k in kernels)
    return [np.pad(k, (n - k.shape[0]) // 2) for k in kernels]


def _with_preview(
    progress: Callable[[StepInfo], None] | None,
    previewer: Previewer,
    runs: list[PlaneTraining],
    layout: tuple[list[list[int]], int | None],
    ensemble: Callable[[], bool],
    projections: Callable[[list[nn.Module]], list[BackProjection | None]],
) -> Callable[[StepInfo], None] | None:
    """``progress`` with ``preview`` set on each report: finished channel groups' models,
    the live one, plain interpolation for groups still to come; with the self-ensemble and
    the back-projection where the final pass will have them, so a preview is what that pass
    gives. ``layout``: the channel groups and the alpha channel."""
    if progress is None:
        return None
    groups, alpha = layout

    def report(info: StepInfo) -> None:
        done = [r.g_up for r in runs]

        def preview(region: tuple[int, int, int, int] | None = None, plane: Any = None) -> np.ndarray:
            models = [*done, info.model, *(Bilinear() for _ in groups[len(done) + 1 :])]
            net = GroupedUpsampler(models, groups, alpha, ensemble(), projections(models))
            return previewer(net, region, plane)

        info.preview = preview
        progress(info)

    return report


def bicubic_x2(image: Any, axes: str | None = None, tile: int | None = 512) -> np.ndarray:
    """MATLAB-style bicubic x2 of every plane, in the input's axes and dtype: the baseline."""
    data = check_image(image)
    identity = Normalization((0.0,), (1.0,), data.dtype.str, "identity")
    return upsample(Bicubic(), data, axes=axes, norm=identity, tile=tile)


def _worst_state(states: list[str]) -> str:
    """A multi-group run's kernel state: not settled if any group's was not."""
    for state in (NOT_SETTLED, SETTLED):
        if state in states:
            return state
    return KNOWN


def _bilinear_only(channels: int, config: DualSRConfig) -> GeneratorUp:
    """A G_UP whose residual branch is zero: plain bilinear x2."""
    model = GeneratorUp(channels, config.up_layers, config.up_features)
    with torch.no_grad():
        last = [m for m in model.body if isinstance(m, nn.Conv2d)][-1]
        last.weight.zero_()
    return model.eval()


def upsample(
    model: nn.Module,
    image: Any,
    *,
    axes: str | None = None,
    norm: Normalization | None = None,
    mode: str = "auto",
    device: str = "cpu",
    tile: int | None = 512,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """x2 every plane of ``image`` with a torch upsampler; same axes and dtype back."""
    data = check_image(image)
    layout = Layout.of(data.shape, axes)
    per_channel = isinstance(model, GroupedUpsampler) and len(model.groups) > 1
    c_axis = layout.axes.index("C") if per_channel else None
    norm = norm or fit_normalization(data, mode, channel_axis=c_axis)
    planes = layout.canonical(data)

    def attempt(where: str) -> np.ndarray:
        torch_device = torch.device(where)
        net = model.to(torch_device).eval()

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(batch).to(torch_device)).float().cpu().numpy()

        return upsample_planes(
            run, planes, norm, 1 if per_channel else None, tile=tile, progress=progress, margin=model_margin(model)
        )

    return layout.restore(cpu_fallback(attempt, str(device)))


__all__ = ["DualSRResult", "GroupedUpsampler", "train", "upsample", "bicubic_x2", "check_image", "bicubic_resize"]
