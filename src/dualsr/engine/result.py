"""What one training produces: the x2 image, the kernel, the history, the model, and what to say about them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.config import DualSRConfig
from dualsr.inference.upsampler import GroupedUpsampler, upsample
from dualsr.io.acquisition import Instrument
from dualsr.io.normalize import Normalization
from dualsr.kernels.acquisition import AcquisitionDecision
from dualsr.kernels.convergence import KNOWN, NOT_SETTLED
from dualsr.kernels.spectral import SpectralEstimate
from dualsr.noise.model import NoisePlan
from dualsr.trust.doubt import summary as doubt_summary
from dualsr.trust.readout import verdict


def kernel_in_doubt(state: str, decisions: list[AcquisitionDecision]) -> bool:
    """A blur kernel the run cannot vouch for (not settled, or blur asked for an image that reads as a
    camera's): the doubt map then adds the x2's departure from bicubic (:mod:`dualsr.trust.doubt`)."""
    return state == NOT_SETTLED and any(d.model == "gaussian-blur" for d in decisions)


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
    kernel_state: str = KNOWN  # known / settled / not settled (dualsr.kernels.convergence)
    trained_state: str = KNOWN  # the same from the estimate or training alone, before the acquisition's doubt
    kernel_change: float = float("nan")  # the kernel's last measured change, fraction of its peak
    kernel_estimates: list[SpectralEstimate] = field(default_factory=list)  # spectral estimator, per group
    noise: NoisePlan | None = None  # what the engine decided about noise (config.noise)
    acquisition: list[AcquisitionDecision] = field(default_factory=list)  # camera or blur, per group, and why
    instrument: Instrument | None = None  # pixel size and optics, where known
    resolution: dict[str, Any] | None = None  # decorrelation resolution before and after (dualsr.trust.readout)
    doubt: np.ndarray | None = None  # per x2 pixel, how far it may be from what the data support (dualsr.trust)
    detail: dict[str, Any] | None = None  # the cross-scale check's share of detail kept (dualsr.inference.crossscale)
    enlarged: dict[str, Any] | None = None  # the input is a nearest-neighbour enlargement (dualsr.io.replication)

    @property
    def uncertain(self) -> bool:
        """The kernel had not settled, or the cross-scale check kept too little of the detail."""
        return self.kernel_state == NOT_SETTLED or bool(self.detail and self.detail["uncertain"])

    @property
    def kernel_in_doubt(self) -> bool:
        """The kernel is in doubt: see :func:`kernel_in_doubt`."""
        return kernel_in_doubt(self.kernel_state, self.acquisition)

    @property
    def detail_warning(self) -> str:
        """One line when the cross-scale check kept little of the detail, else ``""``."""
        if not (self.detail and self.detail["uncertain"]):
            return ""
        return (
            f"only {100 * self.detail['kept']:.0f} % of the detail the network adds held up one scale down (where the "
            "image itself is the truth): the x2 was kept near bicubic where it did not; its detail is uncertain"
        )

    @property
    def enlargement_warning(self) -> str:
        """One line when the input is a nearest-neighbour enlargement (its x2 enlarges the blocks), else ``""``."""
        if not self.enlarged:
            return ""
        f, (h, w), (dy, dx) = self.enlarged["factor"], self.enlarged["native_shape"], self.enlarged["offset"]
        start = f" from row {dy}, column {dx}" if dy or dx else ""
        return (
            f"the image is a {f}x nearest-neighbour enlargement of a {w}x{h} image (every {f}x{f} block holds one "
            f"value): its x2 enlarges those blocks and adds no detail; super-resolve the image it was made from "
            f"(one pixel in {f} along each row and column{start}) instead"
        )

    @property
    def kernel_warning(self) -> str:
        """One line when the blind kernel had not settled, contradicts the image, may be its optics or is read from
        one half of it only, else ``""``."""
        warnings = []
        if any(d.contradicted for d in self.acquisition):
            warnings.append(
                "acquisition 'gaussian-blur' was asked, but the image reads as a camera acquisition: the estimated "
                "kernel may be the scene's own smoothness and the x2 image over-sharpened; compare it with bicubic, "
                "or run with acquisition 'auto' or 'camera'"
            )
        if any(d.ambiguous for d in self.acquisition):
            warnings.append(
                "the image's blur could be a camera's optics or a digital blur; it was taken for the optics (the x2 "
                "kernel is pixel integration), so the x2 is never over-sharpened, but if the image was blurred and "
                "subsampled by software it is under-sharpened: then run with acquisition 'gaussian-blur'"
            )
        if any(d.split for d in self.acquisition):
            warnings.append(
                "the image's halves disagree on how it was made: the whole reads as a digital blur, which was "
                "removed, but one half's blur is round enough to be a camera's optics; if the image comes from a "
                "camera or microscope the x2 may be over-sharpened: compare it with bicubic, or run with acquisition "
                "'camera'"
            )
        if self.trained_state == NOT_SETTLED:
            warnings.append(self._unsettled_warning())
        return "; ".join(warnings)

    def _unsettled_warning(self) -> str:
        problems = [p for e in self.kernel_estimates for p in e.problems]
        if any(d.fell_back for d in self.acquisition):
            return (
                f"the blind kernel estimate is uncertain: {'; '.join(dict.fromkeys(problems))}; the x2 image was made "
                "with the narrowest kernel an acquisition has (pixel integration) instead: it may be under-sharpened, "
                "never over-sharpened; give a known kernel (a measured PSF) or acquisition 'gaussian-blur' to sharpen"
            )
        if problems:
            return (
                f"the blind kernel estimate is uncertain: {'; '.join(dict.fromkeys(problems))}; the x2 image may be "
                "over- or under-sharpened: compare it with bicubic, give a known kernel (a measured PSF), or, if the "
                "image comes straight from a camera or microscope, run with acquisition 'camera'"
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

    @property
    def verdict(self) -> str:
        """One line: resolution before -> after, share of the image in doubt, and whether the kernel is uncertain."""
        doubt = doubt_summary(self.doubt) if self.doubt is not None else None
        kept = self.detail["kept"] if self.detail else None
        return verdict(self.resolution, doubt, uncertain=self.kernel_state == NOT_SETTLED, kept=kept)

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
        """Write the upsampler as a self-describing ONNX file (see :mod:`dualsr.runtime.onnx_export`)."""
        from dualsr.runtime.onnx_export import export_onnx

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
            **({"cross_scale": self.detail} if self.detail else {}),
            "kernel_state": self.kernel_state,
            **({"kernel_estimate": [e.to_dict() for e in self.kernel_estimates]} if self.kernel_estimates else {}),
            **({"noise": self.noise.to_dict()} if self.noise else {}),
            **({"acquisition": _one_or_list([d.to_dict() for d in self.acquisition])} if self.acquisition else {}),
            **({"instrument": self.instrument.to_dict()} if self.instrument else {}),
            **({"kernel_change": round(self.kernel_change, 4)} if np.isfinite(self.kernel_change) else {}),
            **({"kernel_warning": self.kernel_warning} if self.kernel_warning else {}),
            **({"detail_warning": self.detail_warning} if self.detail_warning else {}),
            **({"enlarged": self.enlarged, "enlargement_warning": self.enlargement_warning} if self.enlarged else {}),
            **({"stop_reason": self.stop_reason} if self.stop_reason else {}),
            **({"resolution": self.resolution} if self.resolution else {}),
            **({"doubt": doubt_summary(self.doubt)} if self.doubt is not None else {}),
            **({"verdict": self.verdict} if self.verdict else {}),
        }


def _one_or_list(items: list[Any]) -> Any:
    """One channel group's entry as it is; several as a list."""
    return items[0] if len(items) == 1 else items


__all__ = ["DualSRResult"]
