"""Which degradation made this LR: a camera (pixel integration) or a blur and subsampling?

The two models can give the same LR from different truths. A camera recording a scene through
a microscope gives ``LR = (HR * box)↓2`` where the HR is what pixels half as wide would record
through the same optics (:mod:`dualsr.kernels.camera`): the optical blur is in both, and a x2
must not remove it. DIV2KRK and the paper blur a sharp HR by a kernel and subsample: there the
x2 must remove the blur. A blind estimate (:mod:`dualsr.kernels.spectral`, or KernelGAN's)
assumes a scale-free scene and reads whatever softness the LR has as the kernel; on a camera
image of a smooth scene it reads the optics, and the x2 deconvolves them: rims, invented
texture, worse than bicubic.

``auto`` therefore takes the camera where the image says so -- known optics, energy up to the
LR's Nyquist frequency (pixels integrated a sharp scene; nothing blurred it before), or a round
blur (lenses and objectives blur round; a digital blur is rarely that round) -- and falls back to
the camera kernel where a wide blind estimate cannot be trusted: the 2x2 box is the narrowest x2
kernel an acquisition has, so it never over-sharpens. A blur between round and elongated could be
either: it is taken for a camera's optics too, and the decision is ``ambiguous`` (the x2 may be
under-sharpened, never over-sharpened; the result says so), unless the image knows its physical pixel
size (a recording, not a digitally blurred picture): then the optics without a doubt. Otherwise (an
elongated blur without energy near Nyquist) it is blur and subsampling, and the estimate is removed;
where one half of the image reads a blur round enough for optics, the decision hangs on the half it
is made from, and is said ``split`` (the x2 may be over-sharpened if the image is a camera's).

From the LR alone the two are the same image: a camera of a scene whose optics blur it by G gives
``(HR * G * box)↓2``, a digital blur k of a sharp scene ``(HR * k)↓2``; only the truth differs.
The choice is a prior, biased towards the camera because the costs are not alike: a camera's
image of a softly focused scene decided as a blur lost 7-35 dB to bicubic, where a blurred one
decided as a camera loses its deblurring (0.3-4.3 dB) and stays at bicubic or above (docs/benchmarks.md,
"Optics the image cannot tell from a blur" and "Ambiguous blurs taken for optics").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dualsr.io.acquisition import Instrument
from dualsr.kernels.spectral import SpectralEstimate

# The evidence ``auto`` weighs (each measured on both families: docs/benchmarks.md, "Real acquisitions").
# A camera of a sharp scene keeps energy up to the LR's Nyquist frequency (the box passes 40-64 % of it,
# the rest folds back); a Gaussian blur of variance >= 0.6 HR px^2 before subsampling leaves 100x less.
# On the development sets: binned photos -1.6..-0.3, DIV2KRK-style -3.3..-1.7 (log10 ratio, kernels.spectral).
ALIASED = -1.65
# Optics are round and band-limited: a round estimate over a spectrum that is not scale-free (slope
# alpha below a natural photograph's 2.2-3.4) is the microscope's PSF, part of the scene; a
# digital or motion blur is elongated. (eigenvalue ratio, alpha) pairs that read as optics:
ROUND = ((1.15, 2.4), (1.4, 2.2))
# A blind estimate that is not settled and this wide (mean variance, HR px^2) would sharpen hard on
# a guess: the camera's box instead. A narrow unsettled one sharpens gently and is kept, said uncertain.
WIDE_UNSETTLED = 2.0
# A blur estimate this round (eigenvalue ratio) is taken for optics whatever the spectrum: of the images
# that read as blur, 22 of 37 cameras of softly focused photos were rounder, and 4 of 45 DIV2KRK-style blurs.
ROUND_OPTICS = 1.3
# Up to this ratio a blur could still be a camera's optics (content stretches a round blur's estimate): it
# is taken for the optics, and the decision is ambiguous (11 more of those 37 cameras; 16 of the 45 blurs).
OPTICS_POSSIBLE = 2.0


@dataclass(frozen=True)
class AcquisitionDecision:
    """The degradation model used for one image, and why (reported with the result)."""

    asked: str  # config.acquisition: auto | camera | gaussian-blur
    model: str  # camera | gaussian-blur
    reason: str  # one line for the user
    fell_back: bool = False  # the blind estimate was not trusted: the camera kernel instead
    evidence: dict[str, Any] = field(default_factory=dict)
    contradicted: bool = False  # blur was asked for an image that reads as a camera's: the kernel is in doubt
    ambiguous: bool = False  # camera decided for a blur that could be a digital one: the kernel is in doubt
    split: bool = False  # blur decided, but one half of the image reads as optics: the kernel is in doubt

    @property
    def in_doubt(self) -> bool:
        """The image could have been made the other way (the run's kernel state is then "not settled")."""
        return self.contradicted or self.ambiguous or self.split

    def to_dict(self) -> dict[str, Any]:
        out = {"asked": self.asked, "model": self.model, "reason": self.reason, "fell_back": self.fell_back}
        return out | {k: True for k in ("contradicted", "ambiguous", "split") if getattr(self, k)}


def decide(
    asked: str,
    estimate: SpectralEstimate | None,
    instrument: Instrument | None = None,
    nyquist: float | None = None,
) -> AcquisitionDecision:
    """The model for an image: ``asked`` unless it is ``auto``, where the blind ``estimate`` (always made
    then), the image's energy near Nyquist (``nyquist``, :func:`dualsr.kernels.spectral.nyquist_energy`)
    and the ``instrument`` decide; a wide estimate that is not settled falls back to the camera. Blur as
    asked weighs the same camera evidence, and says where it contradicts the request."""
    if asked == "camera":
        return AcquisitionDecision(asked, "camera", "camera (as asked): the x2 kernel is pixel integration, a 2x2 box")
    if asked == "gaussian-blur" or estimate is None:
        return _blur_as_asked(asked, estimate, instrument, nyquist)
    variances, ratio = _axes(estimate)
    evidence = {
        "variances": [round(float(v), 3) for v in variances],
        "alpha": round(estimate.alpha, 3),
        **({"nyquist_energy": round(nyquist, 3)} if nyquist is not None else {}),
        "settled": estimate.settled,
    }
    camera = _camera_evidence(instrument, nyquist, ratio, estimate.alpha) or _optics_shape(ratio)
    if camera:
        return AcquisitionDecision("auto", "camera", f"camera: {camera}", evidence=evidence)
    if not estimate.settled and variances.mean() > WIDE_UNSETTLED:
        return AcquisitionDecision(
            "auto",
            "camera",
            f"the blind kernel estimate ({variances.mean():.1f} px^2) cannot be trusted "
            f"({'; '.join(estimate.problems)}): fell back to the narrowest kernel an acquisition has, pixel "
            "integration (a 2x2 box), which does not over-sharpen",
            fell_back=True,
            evidence=evidence,
        )
    halves = [axes_ratio(c) for c in estimate.halves]
    if halves:
        evidence["halves_axes"] = [round(r, 3) for r in halves]
    return _optics_or_blur(variances, ratio, instrument, evidence, halves)


def _optics_or_blur(
    variances: np.ndarray,
    ratio: float,
    instrument: Instrument | None,
    evidence: dict[str, Any],
    halves: list[float],
) -> AcquisitionDecision:
    """``auto``'s last word, no camera evidence found. A blur round enough to be optics is taken for them: said
    ambiguous, unless the image knows its physical pixel size (a microscope's or scanner's recording, not a
    picture blurred by software). A more elongated one is removed; said split where one of the image's
    ``halves`` (their axes ratios) reads round enough for optics: the decision then hangs on where it was made."""
    shape = f"({variances[0]:.2f}/{variances[1]:.2f} px^2, axes {ratio:.2f}:1)"
    if ratio < OPTICS_POSSIBLE:
        if instrument is not None and instrument.pixel_size:  # a file or layer that knows its pixels
            return AcquisitionDecision(
                "auto",
                "camera",
                f"camera: a recording with a physical pixel size ({instrument.pixel_size:g} um) and a blur {shape} "
                "round enough to be its optics; if the image was blurred digitally, ask acquisition 'gaussian-blur'",
                evidence=evidence,
            )
        return AcquisitionDecision(
            "auto",
            "camera",
            f"camera, though the image could be blurred digitally: no energy near Nyquist and a blur {shape} "
            "between round and elongated, a camera's optics as likely as a digital blur. Taken for the optics, the "
            "x2 is never over-sharpened (removing a camera's optics cost up to 35 dB); if the image was blurred "
            "digitally, ask acquisition 'gaussian-blur'",
            evidence=evidence,
            ambiguous=True,
        )
    if evidence["settled"] and halves and min(halves) < OPTICS_POSSIBLE:
        return AcquisitionDecision(
            "auto",
            "gaussian-blur",
            f"blur and subsampling: no energy near Nyquist and an elongated blur {shape}, though one half of the "
            f"image reads one round enough for a camera's optics (axes {min(halves):.2f}:1): the estimated kernel is "
            "removed, and the x2 is said uncertain; if the image comes from a camera, ask acquisition 'camera'",
            evidence=evidence,
            split=True,
        )
    if not evidence["settled"]:  # the shape is the estimate's, and the estimate failed a check of its own
        reason = (
            f"blur and subsampling: no energy near Nyquist and a blur estimated elongated {shape}, by an estimate "
            "that did not settle (see the warning), so neither did its shape: the estimated kernel is removed, and "
            "the x2 is said uncertain"
        )
    else:
        reason = (
            f"blur and subsampling: no energy near Nyquist and an elongated blur {shape}, not a lens's: the "
            "estimated kernel is removed"
        )
    return AcquisitionDecision("auto", "gaussian-blur", reason, evidence=evidence)


def _blur_as_asked(
    asked: str, estimate: SpectralEstimate | None, instrument: Instrument | None, nyquist: float | None
) -> AcquisitionDecision:
    """Blur and subsampling, as asked; where the image reads as a camera acquisition all the same, the
    decision says so and is ``contradicted``: the kernel estimated from it may be the scene's own
    smoothness, the over-sharpening of issue 26 (the result's state is then "not settled")."""
    ratio, alpha = (_axes(estimate)[1], estimate.alpha) if estimate is not None else (np.inf, np.inf)
    camera = _camera_evidence(instrument, nyquist, ratio, alpha)
    if not camera:
        return AcquisitionDecision(asked, "gaussian-blur", "blur and subsampling (as asked): the kernel is estimated")
    return AcquisitionDecision(
        asked,
        "gaussian-blur",
        f"blur and subsampling (as asked), although the image reads as a camera's. Why: {camera}. The kernel "
        "estimated from it may be the scene's own smoothness, and the x2 over-sharpened; acquisition 'auto' "
        "or 'camera' would not",
        contradicted=True,
    )


def _axes(estimate: SpectralEstimate) -> tuple[np.ndarray, float]:
    """The estimate's covariance eigenvalues (HR px^2, ascending) and their ratio (1: round)."""
    return np.linalg.eigvalsh(estimate.covariance), axes_ratio(estimate.covariance)


def axes_ratio(covariance: np.ndarray) -> float:
    """A kernel covariance's axes ratio, its eigenvalues' (1: round)."""
    variances = np.linalg.eigvalsh(covariance)
    return float(variances[1] / max(variances[0], 1e-9))


def _optics_shape(ratio: float) -> str:
    """Why a blur this round is taken for a camera's optics, or ``""``. Only ``auto`` weighs it: a user who
    asks for blur on a round one knows how the image was made, and is not contradicted."""
    if ratio >= ROUND_OPTICS:
        return ""
    return (
        f"a round blur (axes {ratio:.2f}:1): lenses and objectives blur round, and a camera's image keeps its "
        "optics; if the image was blurred digitally, ask acquisition 'gaussian-blur'"
    )


def _camera_evidence(instrument: Instrument | None, nyquist: float | None, ratio: float, alpha: float) -> str:
    """Why the image reads as a camera acquisition, or ``""``."""
    if instrument is not None and instrument.optics_known:
        return f"a microscope acquisition ({instrument.describe()}): the optics blur the scene at both scales"
    if nyquist is not None and nyquist > ALIASED:
        return (
            f"the image holds energy up to its Nyquist frequency ({nyquist:.2f}, log10 of the share): pixels "
            "integrated a sharp scene, nothing blurred it before"
        )
    if any(ratio < r and alpha < a for r, a in ROUND):
        return (
            f"a round blur (axes {ratio:.2f}:1) over a band-limited spectrum (slope {alpha:.2f}): the optics' "
            "PSF, which belongs to the scene"
        )
    return ""


__all__ = [
    "ALIASED",
    "OPTICS_POSSIBLE",
    "ROUND",
    "ROUND_OPTICS",
    "WIDE_UNSETTLED",
    "AcquisitionDecision",
    "axes_ratio",
    "decide",
]
