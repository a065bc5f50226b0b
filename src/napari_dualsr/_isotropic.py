"""Plugins > DualSR: make isotropic -- a 3-D image layer with a thick Z step becomes isotropic.

The layer's scale is its voxel size: a layer whose Z scale is larger than its Y/X scale is
offered (an isotropic one gets a one-line "nothing to do"). The run (``dualsr.isotropic``)
goes on a worker thread through the same ``Runner``/``relay`` as the train widget; while
it trains, one XZ slice (the middle Y) is upsampled by the model as it is now and shown
beside the volume; at the end the isotropic layer is added with Z scale ``dz/f`` and its
first plane centre moved by ``0.5*dz*(1/f - 1)``, so it lies exactly over the input in 3-D.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, PushButton, SpinBox
from napari.utils.notifications import show_info
from napari.viewer import Viewer
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QSizePolicy

from dualsr.config import NOISE_MODES, NOISY_THRESHOLD
from dualsr.errors import DualSRInputError
from dualsr.isotropic.apply import FUSIONS
from dualsr.isotropic.blocks import DEFAULT_BLOCK
from dualsr.isotropic.blockwise import memory_shortfall
from dualsr.isotropic.estimate import EXTREME
from dualsr.isotropic.noise import DENOISE_REACH, denoise_stack, plan_stack_noise
from dualsr.isotropic.profile import SHAPES
from dualsr.isotropic.train import TrainSettings
from dualsr.isotropic.volume import IsotropicResult, check_voxel_size, isotropic
from dualsr.runtime.device import available_devices

from ._placement import orientation_of, upscaled_placement
from ._runner import Runner, checked_job, outcome_value
from ._workers import Controls, Outcome, Update, relay

PREVIEW_S = 3.0  # seconds between XZ previews while training
BLIND_SHAPE = "estimate"  # the slice-shape choice that leaves the shape to the blind estimate


@dataclass
class IsotropicJob:
    """What a run needs from the layer and the form, checked."""

    name: str
    data: np.ndarray
    scale: tuple[float, float, float]
    translate: tuple[float, float, float]
    style: dict[str, Any]
    factor: float
    fwhm: float | None
    settings: TrainSettings
    fusion: str
    device: str
    preview: bool
    noise: str = "auto"
    shape: str | None = None  # the profile's shape; None: estimated (or Gaussian for a given FWHM)
    orientation: dict[str, Any] = field(default_factory=dict)  # the layer's rotate, shear, affine (non-identity)


def volume_layers(viewer: Any) -> list[tuple[str, Any]]:
    """(name, layer) of the 3-D grey image layers."""
    from napari.layers import Image

    return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image) and layer.ndim == 3]


def isotropic_job(
    layer: Any,
    fwhm: float = 0.0,
    steps: int = TrainSettings.steps,
    fusion: str = "mean",
    device: str = "auto",
    preview: bool = True,
    noise: str = "auto",
    shape: str = BLIND_SHAPE,
) -> IsotropicJob:
    """Check ``layer`` and the options; DualSRInputError says what is wrong.

    ``shape``: BLIND_SHAPE, or "gaussian" / "rect" (with ``fwhm`` 0, only the width is estimated)."""
    if shape != BLIND_SHAPE and shape not in SHAPES:
        raise DualSRInputError(f"unknown slice shape {shape!r}; use {BLIND_SHAPE}, {' or '.join(SHAPES)}")
    if layer is None:
        raise DualSRInputError("choose a 3-D image layer")
    if layer.ndim != 3 or getattr(layer, "rgb", False) or getattr(layer, "multiscale", False):
        raise DualSRInputError(f"{layer.name}: make isotropic needs a 3-D grey image layer (Z, Y, X)")
    scale = tuple(float(s) for s in layer.scale)
    _, factor = check_voxel_size(scale, layer.data.shape)
    if (short := memory_shortfall(tuple(layer.data.shape), factor)) is not None:  # before reading a lazy layer
        raise DualSRInputError(
            f"{layer.name}: {short}; run it block by block from the command line: {block_command(layer)}"
        )
    style = {
        "colormap": layer.colormap.name,
        "contrast_limits": tuple(layer.contrast_limits),
        "blending": layer.blending,
        "gamma": layer.gamma,
    }
    return IsotropicJob(
        layer.name,
        np.asarray(layer.data),
        scale,
        tuple(float(t) for t in layer.translate),
        style,
        factor,
        (fwhm if fwhm and fwhm > 0 else None),
        TrainSettings(steps=steps),
        fusion,
        device,
        preview,
        noise,
        None if shape == BLIND_SHAPE else shape,
        orientation_of(layer),
    )


def isotropic_updates(
    job: IsotropicJob, controls: Controls, interval: float = 0.05
) -> Generator[Update, None, Outcome]:
    """Run ``job``: "training" steps, "preview" images (one XZ slice), "super-resolving" slices."""
    y = job.data.shape[1] // 2
    xz = preview_slice(job, y) if job.preview else None
    last = [0.0]

    def work(report: Any) -> IsotropicResult:
        def trained(r: Any) -> None:
            report(Update("training", r.step, r.steps, {"L1": r.loss}, r.seconds))
            if job.preview and time.perf_counter() - last[0] > PREVIEW_S:
                last[0] = time.perf_counter()
                report(Update("preview", r.step, r.steps, image=xz_preview(r.model, xz)))

        def applied(done: int, total: int) -> None:
            controls.check_cancel()
            report(Update("super-resolving", done, total))

        return isotropic(
            job.data,
            job.scale,
            fwhm=job.fwhm,
            shape=job.shape,
            fusion=job.fusion,
            noise=job.noise,
            settings=job.settings,
            device=job.device,
            progress=trained,
            apply_progress=applied,
            should_stop=lambda: controls.stop.is_set() or controls.cancel.is_set(),
        )

    yield Update("training", 0, job.settings.steps)
    outcome = yield from relay(work, interval)
    if controls.cancel.is_set() and outcome.error is None:
        return Outcome(cancelled=True)
    return outcome


def preview_slice(job: IsotropicJob, y: int) -> np.ndarray:
    """The ``(Z, X)`` slice at ``y`` that the preview feeds the model: as the run will see it, its planes
    denoised where the noise model is on (only the rows within the denoiser's reach of ``y``)."""
    plan = plan_stack_noise(job.noise, job.data)
    if not plan.active:
        return np.asarray(job.data[:, y, :])
    top = max(y - DENOISE_REACH, 0)
    band = denoise_stack(job.data[:, top : y + DENOISE_REACH + 1, :], plan.estimate)
    return band[:, y - top, :]


def xz_preview(model: Any, xz: np.ndarray) -> np.ndarray:
    """``(Z, X)`` slice ``xz`` through the model as it is now, in the layer's intensities."""
    import torch

    from dualsr.io.normalize import fit_normalization

    norm = fit_normalization(xz[:, None, :], "percentile")
    xz = norm.apply(xz)
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(torch.from_numpy(xz)[None, None].to(device))[0, 0].float().cpu().numpy()
    return norm.invert(out).astype(np.float32)


def result_layer(job: IsotropicJob, result: IsotropicResult) -> tuple[np.ndarray, dict[str, Any], str]:
    """``<name> isotropic (DualSR)``: Z scale divided by f, slice centres on the input's."""
    scale, translate = upscaled_placement(job.scale, job.translate, [0], result.factor, job.orientation)
    kwargs = {
        **job.style,
        **job.orientation,
        "name": f"{job.name} isotropic (DualSR)",
        "scale": scale,
        "translate": translate,
        "metadata": {"dualsr": {**result.summary(), "source_layer": job.name}},
    }
    return result.image, kwargs, "image"


def preview_placement(job: IsotropicJob, factor: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """An XZ image (Z rows, X columns) at the volume's physical size, right of it in the Y-X view."""
    dz, _, dx = job.scale
    width = job.data.shape[2] * dx
    left = job.translate[2] + width + 0.05 * width
    top = job.translate[1] - 0.5 * job.scale[1]
    return (dz / factor, dx), (top + 0.5 * dz / factor, left)


COMPOUND = (".nii.gz", ".ome.tif", ".ome.tiff", ".ome.zarr")


def block_command(layer: Any) -> str:
    """The command that runs ``layer`` block by block: its file where napari opened it from one (the output beside
    it, ``_iso`` added), and its scale as the voxel size, as the widget would use it."""
    path = getattr(getattr(layer, "source", None), "path", None)
    options = f"--voxel-size {','.join(f'{s:g}' for s in layer.scale)} --block {DEFAULT_BLOCK}"
    if not path:
        return f"dualsr isotropic IN -o OUT {options}"
    source = Path(path)
    suffix = next((c for c in COMPOUND if source.name.lower().endswith(c)), source.suffix)
    out = source.with_name(f"{source.name[: len(source.name) - len(suffix)]}_iso{suffix}")
    return f"dualsr isotropic {shlex.quote(str(source))} -o {shlex.quote(str(out))} {options}"


def profile_text(result: IsotropicResult) -> str:
    """The slice profile a run used (FWHM in the layer's units); a width cut off by the search; slices that overlap;
    an unseen shape's two widths."""
    pixel = result.voxel_size[1]
    text = f"slice profile: {result.profile.shape}, FWHM {result.profile.fwhm * pixel:.3g} ({result.profile_source})"
    if result.estimate is not None and result.estimate.at_edge:
        text += f". At the {EXTREME[result.estimate.at_edge]} width tried: set slice FWHM if known"
    if result.estimate is not None and result.estimate.overlap_note(result.factor):
        text += ". Wider than one Z step (axial blur?): Z sharpened past what was recorded; set slice FWHM to keep it"
    if result.estimate is not None and not result.estimate.shape_seen:
        alt = result.estimate.alternatives
        widths = " or ".join(f"{k} {alt[k][0] * pixel:.3g}" for k in ("gaussian", "rect"))
        text += f". Shape not seen: {widths} fit alike; set slice shape if known"
    return text


class IsotropicWidget(Container):
    """Make a 3-D image layer with a thick Z step isotropic (``dualsr.isotropic``)."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.image = ComboBox(label="image", choices=lambda _: volume_layers(self.viewer))
        self.info = Label(value="")
        self.fwhm = FloatSpinBox(label="slice FWHM", min=0.0, max=1e6, step=0.1, value=0.0)
        self.shape = ComboBox(label="slice shape", choices=[BLIND_SHAPE, *SHAPES], value=BLIND_SHAPE)
        self.shape.tooltip = (
            "the slice profile's shape if you know it (2-D multislice MRI: rect; confocal, light sheet: gaussian); "
            f"{BLIND_SHAPE}: from the data (a given FWHM is then Gaussian)"
        )
        self.steps = SpinBox(label="steps", min=1, max=100_000, value=TrainSettings.steps)
        self.fusion = ComboBox(label="fusion", choices=list(FUSIONS), value="mean")
        self.device = ComboBox(label="device", choices=available_devices(), value="auto")
        self.preview = CheckBox(label="live XZ preview", value=True)
        self.noise = ComboBox(label="noise model", choices=list(NOISE_MODES), value="auto")
        self.noise.tooltip = (
            "denoise each acquired plane first; auto: where the measured noise is above "
            f"{100 * NOISY_THRESHOLD:g} % of full scale"
        )
        self.run_button = PushButton(text="Make isotropic")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.status = Label(value="")
        self.profile_info = Label(value="")
        self.fwhm.tooltip = "slice thickness (FWHM) in the layer's Z scale units; 0 = estimate it from the data"
        buttons = Container(widgets=[self.run_button, self.stop_button], layout="horizontal", labels=False)
        widgets = [self.image, self.info, self.fwhm, self.shape, self.steps, self.fusion, self.noise]
        widgets += [self.device, self.preview]
        super().__init__(widgets=[*widgets, buttons, self.status, self.profile_info])
        self.profile_info.native.setWordWrap(True)  # the profile used, and both widths where the shape was not seen
        self.profile_info.native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy
        self.profile_info.native.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)  # else squeezed thin
        # room for the wrapped text (up to six rows in a narrow dock); a squeezed dock would clip it to one row
        self.profile_info.native.setMinimumHeight(6 * self.profile_info.native.fontMetrics().lineSpacing())
        self.runner = Runner(self._update, self._done, self._idle)
        self._job: IsotropicJob | None = None
        self._preview_layer: Any = None
        self.image.changed.connect(self._describe)
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.runner.stop)
        self.viewer.layers.events.inserted.connect(lambda *_: self.reset_choices())
        self.viewer.layers.events.removed.connect(lambda *_: self.reset_choices())
        runner = self.runner
        self.native.destroyed.connect(lambda *_: runner.close())
        self._describe()

    def _describe(self, *_: Any) -> None:
        """Say what the chosen layer's scale means; offer the button only for an anisotropic one."""
        layer = self.image.value
        try:
            if layer is None:
                raise DualSRInputError("no 3-D image layer")
            _, factor = check_voxel_size(tuple(layer.scale), layer.data.shape)
        except DualSRInputError as exc:
            self.info.value = str(exc)[:80]
            self.run_button.enabled = False
            return
        dz, dy, _ = layer.scale
        self.info.value = f"Z step {dz:g} / pixel {dy:g}: factor {factor:.3g}"
        self.run_button.enabled = not self.runner.running

    def job(self) -> IsotropicJob:
        form = (self.fwhm.value, self.steps.value, self.fusion.value, self.device.value, self.preview.value)
        return isotropic_job(self.image.value, *form, noise=self.noise.value, shape=self.shape.value)

    def start(self, *_: Any) -> None:
        if self.runner.running or (job := checked_job(self.job, self.status, self.profile_info)) is None:
            return
        self._job = job
        self.profile_info.value = self.profile_info.tooltip = ""
        self.status.value = "starting…"
        self.run_button.enabled, self.stop_button.enabled = False, True
        self.runner.start(isotropic_updates, job)

    def _update(self, update: Update) -> None:
        if update.phase == "preview":
            self._show_preview(update.image)
            return
        loss = f" L1 {update.losses['L1']:.4f}" if update.losses else ""
        self.status.value = f"{update.phase} {update.done}/{update.total}{loss}"

    def _show_preview(self, image: np.ndarray) -> None:
        job = self._job
        if self._preview_layer is None or self._preview_layer not in self.viewer.layers:
            scale, translate = preview_placement(job, job.factor)
            self._preview_layer = self.viewer.add_image(
                image, name=f"{job.name} XZ preview (DualSR)", scale=scale, translate=translate, **job.style
            )
        else:
            self._preview_layer.data = image

    def _done(self, outcome: Outcome[Any]) -> None:
        if self._preview_layer is not None and self._preview_layer in self.viewer.layers:
            self.viewer.layers.remove(self._preview_layer)
        self._preview_layer = None
        if (result := outcome_value(outcome, self.status, self._job, self.profile_info)) is not None:
            data, kwargs, _ = result_layer(self._job, result)
            self.viewer.add_image(data, **kwargs)
            self.status.value = "stopped early; result so far" if result.stopped else "done"
            noise = f"; {result.noise.reason}" if result.noise is not None else ""
            notes = result.profile_notes()
            self.profile_info.value = profile_text(result)  # the notification fades; this stays until the next run
            self.profile_info.tooltip = "\n".join(notes)
            said = "".join(f"; {n}" for n in notes)
            show_info(f"DualSR: {self._job.name} isotropic (factor {result.factor:.3g}){noise}{said}")

    def _idle(self) -> None:
        self.stop_button.enabled = False
        self._describe()
