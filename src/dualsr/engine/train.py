"""``train``: arrays as people have them (any dtype, axes, stacks, RGB(A)) meet the training loop.

The loop (:mod:`dualsr.engine.loop`) works on normalised ``(C, H, W)`` planes; here the input
is checked and normalised, channels are grouped, the noise model and the kernel (known, the
spectral estimate or the paper's GAN) are decided, and every plane is super-resolved at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from dualsr.config import DualSRConfig, preset
from dualsr.engine.loop import PlaneTraining, StepInfo, train_plane
from dualsr.engine.result import DualSRResult, kernel_in_doubt
from dualsr.errors import DualSRInputError
from dualsr.inference.backprojection import MIN_STEP, QUANTISATION_TOLERANCE, BackProjection, lsb, noisy_step
from dualsr.inference.crossscale import KEPT_UNCERTAIN, CrossScaleCheck
from dualsr.inference.preview import Previewer
from dualsr.inference.upsampler import Bilinear, GroupedUpsampler, upsample
from dualsr.io.acquisition import Instrument
from dualsr.io.axes import Layout, Planes
from dualsr.io.normalize import Normalization, fit_normalization
from dualsr.io.replication import replication
from dualsr.io.validate import check_image
from dualsr.kernels.acquisition import AcquisitionDecision, decide
from dualsr.kernels.camera import camera_kernel
from dualsr.kernels.convergence import KNOWN, NOT_SETTLED, SETTLED
from dualsr.kernels.spectral import TILE as SPECTRAL_TILE
from dualsr.kernels.spectral import SpectralEstimate, estimate_kernel, nyquist_energy
from dualsr.noise.model import GuidedUp, NoisePlan, clean_copy, plan_noise, unit_noise
from dualsr.paper.kernel import final_kernel, point_symmetric, prepare_known_kernel
from dualsr.paper.networks import GeneratorUp
from dualsr.runtime.device import resolve_device
from dualsr.trust.doubt import doubt_map
from dualsr.trust.readout import plane_resolution

CHANNEL_MODES = ("auto", "joint", "independent")
DETAIL_SIDE = 1024  # the cross-scale check's share of detail kept is measured on this central crop at most
CHECK_SIDE = 512  # blur asked: whether the image reads as a camera's is measured on this central crop at most


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
    instrument: Instrument | None = None,
    doubt: bool = False,
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
    ``instrument`` (pixel size, NA, wavelength: :class:`dualsr.io.acquisition.Instrument`) informs
    ``config.acquisition`` = ``auto`` (:mod:`dualsr.kernels.acquisition`) and the report.
    ``should_stop`` is polled every step; a stopped run still returns its result.
    ``progress`` gets a ``StepInfo`` every 10 steps, with ``preview`` (:mod:`dualsr.inference.preview`).
    The result always carries the resolution before and after (:mod:`dualsr.trust`); ``doubt`` adds
    the per-pixel doubt map (one more pass over the image, no training time).
    """
    config = config or preset(preset_name, iterations=iterations)
    if seed is not None:
        config = config.with_(seed=seed)
    data = check_image(image)
    layout = Layout.of(data.shape, axes)
    if min(layout.height, layout.width) < config.min_image_size:
        raise DualSRInputError(
            f"the image is {layout.height}x{layout.width} pixels; DualSR needs at least "
            f"{config.min_image_size}x{config.min_image_size} ({config.min_image_size - 2 * config.border_shave}px "
            f"patches + {config.border_shave}px border); use a larger image or a bigger field of view"
        )
    config = config.fitted(min(layout.height, layout.width))
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
    lsbs: list[float] = []  # per group: the LR's rounding step where its rounding is left alone (camera model)

    start = time.perf_counter()
    runs: list[PlaneTraining] = []
    estimates: list[SpectralEstimate] = []
    decisions: list[AcquisitionDecision] = []
    fixed: list[np.ndarray | None] = []  # per group: the kernel held fixed (known or estimated), or None
    report = _with_preview(
        progress,
        previewer,
        runs,
        (groups, alpha),
        lambda: _ensemble_allowed(config, fixed),
        lambda models: _projections(config, fixed, noise, models, lsbs),
        lambda: _check(config, fixed, noise, groups, alpha, lsbs),
    )
    for group, k in zip(groups, kernels):
        part = slice(group[0], group[-1] + 1)  # groups are runs of channels: views, not copies
        channels = train_data[..., part, :, :]
        clean = None if clean_data is None else clean_data[..., part, :, :]
        state = KNOWN
        if k is None:
            k, state = _blind_kernel(channels, clean, config, instrument, estimates, decisions)
        fixed.append(k)
        camera = state != KNOWN and decisions[-1].model == "camera"  # decided here, not given
        lsbs.append(_rounding_step(data.dtype, norm, group, camera and not noise.active))
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
    projections = _projections(config, reported, noise, models, lsbs)
    check = _check(config, reported, noise, groups, alpha, lsbs)
    upsampler = GroupedUpsampler(models, groups, alpha, _ensemble_allowed(config, fixed), projections, check).eval()
    sr = upsample(
        upsampler, data, axes=layout.axes, norm=norm, device=str(torch_device), tile=tile, progress=apply_progress
    )
    kernel = reported[0] if len(reported) == 1 else np.stack(_same_size(reported))
    resolution = plane_resolution(
        planes[indices[0]],
        Layout.of(sr.shape, layout.axes).canonical(sr)[indices[0]],
        instrument and instrument.pixel_size,
    )
    detail = None if check is None else _detail(upsampler, train_data if len(indices) == 1 else train_data[0])
    trained_state = _worst_state([r.kernel_state for r in runs])
    kernel_state = NOT_SETTLED if any(d.in_doubt for d in decisions) else trained_state
    doubt_image = None
    if doubt:
        c_axis = 1 if per_channel else None
        hypotheses = kernel_in_doubt(kernel_state, decisions)
        doubt_image = doubt_map(
            upsampler, kernel, data, layout, norm, c_axis, str(torch_device), tile, kernel_in_doubt=hypotheses
        )
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
        kernel_state=kernel_state,
        trained_state=trained_state,
        kernel_change=max((r.kernel_change for r in runs if np.isfinite(r.kernel_change)), default=float("nan")),
        kernel_estimates=estimates,
        acquisition=decisions,
        instrument=instrument,
        noise=noise if config.noise != "off" else None,
        resolution=resolution,
        doubt=doubt_image,
        detail=detail,
        enlarged=_enlargement(planes[indices[0]]),
    )


def _enlargement(plane: np.ndarray) -> dict[str, Any] | None:
    """The training plane ``(C, H, W)``'s nearest-neighbour enlargement factor, offset and native shape, or None."""
    factor, offset = replication(np.moveaxis(plane, 0, -1))
    if factor == 1:
        return None
    native = [(n - o) // factor for n, o in zip(plane.shape[-2:], offset)]
    return {"factor": factor, "offset": list(offset), "native_shape": native}


def _blind_kernel(
    channels: np.ndarray,
    clean: np.ndarray | None,
    config: DualSRConfig,
    instrument: Instrument | None,
    estimates: list[SpectralEstimate],
    decisions: list[AcquisitionDecision],
) -> tuple[np.ndarray | None, str]:
    """A channel group's kernel without a known one: the camera's, the spectral estimate, or None (the
    paper's GAN learns it), and its state; the estimate and the decision are appended to the lists."""
    estimate, nyquist = None, None
    if config.kernel_estimator == "spectral" or config.acquisition == "auto":
        estimate = _spectral_estimate(channels, clean, config)
        estimates.append(estimate)
    if config.acquisition == "auto":
        nyquist = nyquist_energy(channels if clean is None else clean)
    elif config.acquisition == "gaussian-blur":  # blur as asked: still told where the image reads as a camera's
        nyquist = _central_nyquist(channels if clean is None else clean)
    decision = decide(config.acquisition, estimate, instrument, nyquist)
    decisions.append(decision)
    if decision.model == "camera":
        return camera_kernel(), NOT_SETTLED if decision.fell_back else SETTLED
    if config.kernel_estimator == "spectral":
        return estimate.kernel, SETTLED if estimate.settled else NOT_SETTLED
    return None, KNOWN  # the GAN's kernel: its state comes from the training


def _central_nyquist(data: np.ndarray) -> float | None:
    """:func:`nyquist_energy` of the central ``CHECK_SIDE``^2 (a check: a huge plane costs no copy of itself),
    or None where one Welch tile does not fit."""
    h, w = data.shape[-2:]
    if min(h, w) < SPECTRAL_TILE:
        return None
    top, left = (h - min(h, CHECK_SIDE)) // 2, (w - min(w, CHECK_SIDE)) // 2
    return nyquist_energy(data[..., top : top + CHECK_SIDE, left : left + CHECK_SIDE])


def _spectral_estimate(channels: np.ndarray, clean: np.ndarray | None, config: DualSRConfig) -> SpectralEstimate:
    """The spectral kernel of the training data; on a noisy image as ``config.noise_kernel`` says."""
    if clean is None:
        return estimate_kernel(channels)
    if config.noise_kernel == "clean_copy":
        return estimate_kernel(clean)
    return estimate_kernel(channels, noisy=True)


def _rounding_step(dtype: np.dtype, norm: Normalization, group: list[int], camera_noise_free: bool) -> float:
    """One LSB of this group's LR (normalised), where its rounding is left alone: by the back-projection
    (``QUANTISATION_TOLERANCE`` LSBs unprojected) and the cross-scale check (detail within the rounding
    dropped). Only where the camera model was decided for a noise-free integer image: there the exact box
    kernel leaves the rounding as the LR's only residual (cell +1.0 dB); under a blind Gaussian estimate
    it costs 0.1-0.2 dB per DIV2KRK image, and a noisy image's step already allows for much more
    (docs/benchmarks.md, "Real acquisitions"); 0 elsewhere."""
    if not camera_noise_free:
        return 0.0
    return lsb(dtype, norm.high[group[0]] - norm.low[group[0]])


def _ensemble_allowed(config: DualSRConfig, fixed: list[np.ndarray | None]) -> bool:
    """``config.self_ensemble`` where every group's kernel was held fixed and is point-symmetric.

    The 180-degree turn of an image blurred by ``k`` is blurred by ``k`` turned: the same
    kernel only when it is symmetric. A learned (GAN) kernel is not held fixed: no ensemble.
    """
    return config.self_ensemble and all(k is not None and point_symmetric(k) for k in fixed)


def _projections(
    config: DualSRConfig,
    kernels: list[np.ndarray | None],
    noise: NoisePlan,
    models: list[nn.Module],
    lsbs: list[float] | None = None,
) -> list[BackProjection | None]:
    """Per channel group, its back-projection (``config.back_projection``), or None.

    With the noise model on, a guided G_UP's x2 is projected onto its denoised copy with the step
    shrunk by the noise (:func:`dualsr.inference.backprojection.noisy_step`; none below ``MIN_STEP``); an
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
        tol = QUANTISATION_TOLERANCE * lsbs[i] if lsbs and i < len(lsbs) else 0.0
        out.append(BackProjection(torch.as_tensor(kernels[i]), config.back_projection, step, tol) if usable else None)
    return out


def _check(
    config: DualSRConfig,
    kernels: list[np.ndarray | None],
    noise: NoisePlan,
    groups: list[list[int]],
    alpha: int | None,
    lsbs: list[float] | None = None,
) -> CrossScaleCheck | None:
    """The cross-scale check (``config.cross_scale_check``) where every group has a kernel to go one scale
    down with, and the LR is a truth to compare with (not with the noise model: the LR is noisy)."""
    if not config.cross_scale_check or noise.active or len(kernels) < len(groups) or any(k is None for k in kernels):
        return None
    return CrossScaleCheck([np.asarray(k) for k in kernels], groups, config.cross_scale_window, alpha, lsbs)


def _detail(upsampler: GroupedUpsampler, plane: np.ndarray) -> dict[str, Any]:
    """The share of the x2's detail the cross-scale check kept over the training plane (its central
    ``DETAIL_SIDE`` crop at most) and whether that makes the run uncertain."""
    h, w = plane.shape[-2:]
    top, left = max(0, (h - DETAIL_SIDE) // 2), max(0, (w - DETAIL_SIDE) // 2)
    crop = torch.from_numpy(np.ascontiguousarray(plane[:, top : top + DETAIL_SIDE, left : left + DETAIL_SIDE]))
    device = next(upsampler.parameters()).device
    with torch.inference_mode():
        weights = upsampler.check.weights(crop[None].float().to(device), upsampler.pipeline)
    kept = float(weights.mean())
    return {"kept": round(kept, 3), "uncertain": kept < KEPT_UNCERTAIN, "window": upsampler.cross_scale_window}


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
    check: Callable[[], CrossScaleCheck | None],
) -> Callable[[StepInfo], None] | None:
    """``progress`` with ``preview`` set on each report: finished channel groups' models,
    the live one, plain interpolation for groups still to come; with the self-ensemble and
    the back-projection where the final pass will have them, so a preview is what that pass
    gives (and the cross-scale check). ``layout``: the channel groups and the alpha channel."""
    if progress is None:
        return None
    groups, alpha = layout

    def report(info: StepInfo) -> None:
        done = [r.g_up for r in runs]

        def preview(region: tuple[int, int, int, int] | None = None, plane: Any = None) -> np.ndarray:
            models = [*done, info.model, *(Bilinear() for _ in groups[len(done) + 1 :])]
            net = GroupedUpsampler(models, groups, alpha, ensemble(), projections(models), check())
            return previewer(net, region, plane)

        info.preview = preview
        progress(info)

    return report


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


__all__ = ["CHANNEL_MODES", "train"]
