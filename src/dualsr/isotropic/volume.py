"""``dualsr.isotropic``: an anisotropic stack to isotropic voxels, from that stack alone.

The checks (a 3-D grey stack, a voxel size that makes sense), the factor ``f = dz / dy``,
the noise (measured; a noisy stack's planes denoised), the intensity normalisation, the slice
profile (given, or estimated blind), the training, both slice directions and their fusion, and the
result in the input's dtype with its new voxel size. Each step lives in its own module; this one puts them in order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dualsr.config import DEFAULT_DENOISER
from dualsr.errors import DualSRInputError
from dualsr.io.normalize import Normalization, fit_normalization
from dualsr.isotropic.apply import FUSIONS, fuse, upsample_slices
from dualsr.isotropic.estimate import POWERS, ProfileEstimate, estimate_profile
from dualsr.isotropic.network import AxisUpsampler
from dualsr.isotropic.noise import denoise_stack, plan_stack_noise
from dualsr.isotropic.profile import SHAPE_POWER, SHAPES, SliceProfile, from_samples, named
from dualsr.isotropic.train import TrainReport, TrainSettings, train_upsampler
from dualsr.noise.denoise import require_denoiser
from dualsr.noise.model import NoisePlan
from dualsr.runtime.device import resolve_device

MIN_FACTOR = 1.2  # below this the stack is taken as isotropic already
MAX_FACTOR = 16.0
SQUARE_TOLERANCE = 0.05  # in-plane pixels may differ this much (relative) and still count as square
MIN_SLICES = 4


@dataclass
class IsotropicResult:
    """The isotropic stack and how it was made."""

    image: np.ndarray | None  # (Zo, Y, X), the input's dtype
    voxel_size: tuple[float, float, float]  # the output's (dz, dy, dx): dz is the in-plane pixel now
    input_voxel_size: tuple[float, float, float]
    factor: float
    profile: SliceProfile
    profile_source: str  # "estimated", "estimated-width" (the shape given), "fwhm" or "samples"
    estimate: ProfileEstimate | None
    model: AxisUpsampler = field(repr=False)
    normalization: Normalization = field(repr=False)
    settings: TrainSettings = field(repr=False)
    fusion: str = "mean"
    losses: list[float] = field(default_factory=list, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    stopped: bool = False
    noise: NoisePlan | None = None  # what was measured and decided (None: noise="off")
    denoiser: str = DEFAULT_DENOISER

    @property
    def z_translate_shift(self) -> float:
        """Where the output's first plane centre sits relative to the input's first slice centre (physical)."""
        return 0.5 * self.input_voxel_size[0] * (1 / self.factor - 1)

    def summary(self) -> dict[str, Any]:
        return {
            "method": "dualsr.isotropic",
            "factor": round(self.factor, 6),
            "input_voxel_size": list(self.input_voxel_size),
            "voxel_size": list(self.voxel_size),
            "profile": {**self.profile.to_dict(), "source": self.profile_source},
            "profile_fwhm": round(self.profile.fwhm * self.voxel_size[1], 6),
            "profile_reach_steps": round(self.profile.reach(self.factor), 4),  # above 1: more blur than the step
            **({"profile_estimate": self.estimate.summary()} if self.estimate is not None else {}),
            **({"notes": notes} if (notes := self.profile_notes()) else {}),
            "fusion": self.fusion,
            "training": self.settings.to_dict(),
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "device": self.device,
            "stopped": self.stopped,
            **({"noise": {**self.noise.to_dict(), "denoiser": self.denoiser}} if self.noise else {}),
        }

    def shape_note(self, unit: str | None = None) -> str | None:
        """One line when the blind estimate could not tell the profile's shape (widths in the voxel size's unit)."""
        if self.estimate is None:
            return None
        return self.estimate.shape_note(self.voxel_size[1], unit or "")

    def profile_notes(self, unit: str | None = None) -> list[str]:
        """What a user should know about the blind profile: a width cut off by the search's edge, slices that
        overlap (Z blurrier than its step), an unseen shape."""
        if self.estimate is None:
            return []
        pixel, unit = self.voxel_size[1], unit or ""
        overlap = self.estimate.overlap_note(self.factor, pixel, unit)
        notes = (self.estimate.edge_note(pixel, unit), overlap, self.shape_note(unit))
        return [n for n in notes if n]

    def export_onnx(self, path: str) -> Any:
        """Save the through-plane model as one ONNX file (see :mod:`dualsr.isotropic.export`)."""
        from dualsr.isotropic.export import export_axis_onnx

        return export_axis_onnx(self, path)


def check_voxel_size(voxel_size: Sequence[float] | None, shape: Sequence[int]) -> tuple[tuple[float, ...], float]:
    """The voxel size as three positive floats and the factor ``dz / dy``; one-line errors otherwise."""
    if voxel_size is None:
        raise DualSRInputError(
            "the voxel size is unknown; give it as (dz, dy, dx), e.g. --voxel-size 2.0,0.5,0.5 (same unit for all)"
        )
    try:
        dz, dy, dx = (float(v) for v in voxel_size)
    except (TypeError, ValueError):
        raise DualSRInputError(f"the voxel size must be three numbers dz, dy, dx (got {voxel_size!r})") from None
    if not all(math.isfinite(v) and v > 0 for v in (dz, dy, dx)):
        raise DualSRInputError(f"the voxel size must be three positive numbers (got {dz:g}, {dy:g}, {dx:g})")
    if abs(dy - dx) > SQUARE_TOLERANCE * max(dy, dx):
        raise DualSRInputError(
            f"the in-plane pixels are not square (dy {dy:g}, dx {dx:g}); resample Y or X to one pixel size first"
        )
    factor = dz / dy
    if factor < MIN_FACTOR:
        raise DualSRInputError(
            f"the stack is isotropic already (Z step {dz:g} vs pixel {dy:g}, factor {factor:.2f}); nothing to do"
            if factor > 1 / MIN_FACTOR
            else f"the Z step {dz:g} is smaller than the pixel size {dy:g}; is the voxel size given as (dz, dy, dx)?"
        )
    if factor > MAX_FACTOR:
        raise DualSRInputError(
            f"factor {factor:.1f} (Z step / pixel) is more than {MAX_FACTOR:g}; check the voxel size"
        )
    if shape[0] < MIN_SLICES:
        raise DualSRInputError(f"the stack has {shape[0]} slices; at least {MIN_SLICES} are needed")
    return (dz, dy, dx), factor


def choose_profile(
    factor: float,
    dy: float,
    fwhm: float | None,
    shape: str | None,
    profile: SliceProfile | np.ndarray | None,
) -> tuple[SliceProfile | None, str]:
    """A given profile (samples, or a FWHM in the voxel size's unit), or None to estimate one.

    With ``shape`` alone, None too: the estimate then fits only that shape's width ("estimated-width").
    """
    if profile is not None and fwhm is not None:
        raise DualSRInputError("give either a slice profile or its FWHM, not both")
    if profile is not None and shape is not None:
        raise DualSRInputError("a slice profile file has its own shape; give --shape with --fwhm or alone")
    if shape is not None and shape not in SHAPE_POWER:
        raise DualSRInputError(f"unknown slice profile shape {shape!r}; use one of {', '.join(SHAPES)}")
    if profile is not None:
        return (profile if isinstance(profile, SliceProfile) else from_samples(profile)), "samples"
    if fwhm is not None:
        if not (math.isfinite(fwhm) and fwhm > 0):
            raise DualSRInputError(f"the slice profile's FWHM must be a positive number (got {fwhm})")
        return named(shape or "gaussian", fwhm / dy), "fwhm"
    return None, ("estimated-width" if shape else "estimated")


def isotropic(
    volume: np.ndarray,
    voxel_size: Sequence[float] | None,
    *,
    fwhm: float | None = None,
    shape: str | None = None,
    profile: SliceProfile | np.ndarray | None = None,
    fusion: str = "mean",
    noise: str = "auto",
    denoiser: str = DEFAULT_DENOISER,
    settings: TrainSettings | None = None,
    device: str = "auto",
    progress: Callable[[TrainReport], None] | None = None,
    apply_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    apply: bool = True,
) -> IsotropicResult:
    """Make a ``(Z, Y, X)`` stack isotropic: Z resampled to the in-plane pixel size, learned from the stack.

    ``voxel_size`` is ``(dz, dy, dx)`` in one unit. The slice profile is estimated blind unless
    ``fwhm`` (same unit; ``shape`` "gaussian" or "rect") or ``profile`` (samples one in-plane
    pixel apart) is given; ``shape`` alone fixes the shape and estimates only the width.
    ``fusion``: "mean", "geometric" or "fourier". ``noise`` ("auto", "on", "off"):
    whether the acquired planes are denoised first (``auto``: where the stack's measured noise is above
    the ×2 path's threshold; :mod:`dualsr.isotropic.noise`), by ``denoiser``. Returns the result with
    ``floor(Z * f)`` planes, the input's dtype, and the new voxel size ``(dy, dy, dx)``; with
    ``apply=False`` only the profile and the model (``image`` is None; the block-wise path).
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise DualSRInputError(f"isotropic needs one 3-D grey stack (Z, Y, X); this array is {volume.ndim}-D")
    if fusion not in FUSIONS:
        raise DualSRInputError(f"unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}")
    if volume.dtype.kind not in "uif" or volume.dtype == np.float16:
        raise DualSRInputError(f"unsupported data type {volume.dtype}; use integers, float32 or float64")
    (dz, dy, dx), factor = check_voxel_size(voxel_size, volume.shape)
    given, source = choose_profile(factor, dy, fwhm, shape, profile)
    settings = settings or TrainSettings()
    dev = resolve_device(device)
    seconds: dict[str, float] = {}
    if volume.dtype.kind == "f" and not np.all(np.isfinite(volume)):
        raise DualSRInputError("the stack has NaN or Inf voxels; replace them (e.g. with 0) first")
    t0 = time.perf_counter()
    plan = plan_stack_noise(noise, volume)
    if plan.active:
        require_denoiser(denoiser)
    seconds["noise"] = time.perf_counter() - t0
    t_profile = time.perf_counter()
    data = estimate = None
    if given is None:  # on the planes as acquired (see dualsr.isotropic.noise: why not the denoised ones)
        norm = fit_normalization(volume, "percentile")
        data = norm.apply(volume)
        powers = (SHAPE_POWER[shape],) if shape else POWERS
        estimate = estimate_profile(data, factor, powers=powers, seed=settings.seed)
        given = estimate.profile
    seconds["profile"] = time.perf_counter() - t_profile
    if plan.active:  # the training and the application see the denoised planes, normalised anew
        t_noise = time.perf_counter()
        data = None  # the raw planes' copy goes before the denoised one is made
        volume = denoise_stack(volume, plan.estimate, denoiser)
        seconds["noise"] += time.perf_counter() - t_noise
    if data is None:  # the planes the training sees, unless the estimate's copy is them already
        norm = fit_normalization(volume, "percentile")
        data = norm.apply(volume)
    t1 = time.perf_counter()
    model, losses = train_upsampler(data, factor, given, settings, dev, progress, should_stop)
    seconds["train"] = time.perf_counter() - t1
    stopped = len(losses) < settings.steps
    t2 = time.perf_counter()
    image = apply_both(model, data, norm, fusion, dev, apply_progress, should_stop) if apply else None
    seconds["apply"] = time.perf_counter() - t2
    seconds["total"] = time.perf_counter() - t0
    return IsotropicResult(
        image=image,
        voxel_size=(dy, dy, dx),
        input_voxel_size=(dz, dy, dx),
        factor=factor,
        profile=given,
        profile_source=source,
        estimate=estimate,
        model=model.cpu(),
        normalization=norm,
        settings=settings,
        fusion=fusion,
        losses=losses,
        seconds=seconds,
        device=str(dev),
        stopped=stopped,
        noise=plan if noise != "off" else None,
        denoiser=denoiser,
    )


def apply_both(
    model: torch.nn.Module,
    data: np.ndarray,
    norm: Normalization,
    fusion: str = "mean",
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """XZ and YZ passes over normalised ``data``, fused, back in the input's range and dtype."""
    total = data.shape[1] + data.shape[2]

    def report(offset: int) -> Callable[[int, int], None]:
        return lambda done, _n: progress(offset + done, total) if progress is not None else None

    from_xz = upsample_slices(model, data, "x", device, report(0), should_stop)
    from_yz = upsample_slices(model, data, "y", device, report(data.shape[1]), should_stop)
    fused = fuse(from_xz, from_yz, fusion)
    del from_xz, from_yz
    return norm.invert(fused)
