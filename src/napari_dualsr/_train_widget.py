"""Plugins > DualSR: train & super-resolve -- the form, and what its buttons do.

The form is magicgui widgets; checking the inputs is ``_jobs.train_job``, the work is
``_workers.train_updates`` on a thread, and the results become layers in ``_layers``.
"""

from __future__ import annotations

from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, Label, PushButton, SpinBox
from napari.layers import Image
from napari.utils.notifications import show_info, show_warning
from napari.viewer import Viewer

from dualsr.config import ACQUISITIONS, NOISE_MODES, PRESETS, preset
from dualsr.errors import DualSRInputError
from dualsr.runtime.device import available_devices
from dualsr.trust.doubt import DOUBT_LEVEL

from ._jobs import Trained, TrainJob, axes_choices, instrument_of, train_job, usable
from ._layers import follow_active, image_layers
from ._live_layers import LiveLayers
from ._loss_plot import SERIES, LossPlot
from ._plane_choice import PlaneChoice
from ._runner import Runner, checked_job, outcome_value
from ._workers import IMAGE_PHASES, Controls, Outcome, PreviewClock, Update, train_updates, warm_up

# What the kernel readout says for each state the engine reports (dualsr.kernels.convergence).
KERNEL_STATES = {
    "known": "known (given): not estimated",
    "settling": "still settling: the ×2 will change",
    "settled": "settled",
    "not settled": "uncertain: the ×2 may be over- or under-sharpened",
}


def _kernel_line(result) -> str:
    """The kernel readout after a run; where the blur may have been taken for the wrong acquisition, the fix."""
    if any(d.ambiguous for d in result.acquisition):
        return "uncertain: taken for the optics; if the blur is digital, set acquisition to gaussian-blur"
    if any(d.split for d in result.acquisition):
        return "uncertain: taken for a digital blur; if the image is a camera's, set acquisition to camera"
    return KERNEL_STATES.get(result.kernel_state, result.kernel_state)


class TrainWidget(Container):
    """Train DualSR on planes of an image layer; show the x2 image as it grows, its kernel, bicubic x2."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.config_overrides: dict[str, Any] = {}  # DualSRConfig fields, e.g. smaller patches (scripts, tests)
        self.image = ComboBox(label="image", choices=lambda _: image_layers(self.viewer))
        self.axes = ComboBox(label="axes", choices=lambda _: axes_choices(self.image.value))
        self.planes = PlaneChoice()
        self.preset = ComboBox(label="preset", choices=list(PRESETS), value="fast")
        self.iterations = SpinBox(label="iterations", min=1, max=100_000, step=100, value=PRESETS["fast"])
        self.scale = ComboBox(label="scale", choices=[("×2", 2)], tooltip="DualSR's networks are built for ×2")
        self.device = ComboBox(label="device", choices=available_devices(), value="auto")
        self.seed = SpinBox(label="seed", min=0, max=2**31 - 1, value=0)
        self.noise = ComboBox(label="noise model", choices=list(NOISE_MODES), value=preset("fast").noise)
        self.acquisition = ComboBox(label="acquisition", choices=list(ACQUISITIONS), value=preset("fast").acquisition)
        self.na = FloatSpinBox(label="objective NA", min=0.0, max=1.7, step=0.05, value=0.0)
        self.wavelength = FloatSpinBox(label="emission (nm)", min=0.0, max=2000.0, step=10.0, value=0.0)
        self.kernel = ComboBox(label="known kernel", nullable=True, value=None, choices=self._kernel_choices)
        self.kernel_file = FileEdit(label="or kernel file", filter="*.npy *.tif *.tiff *.png", nullable=True)
        self.onnx = FileEdit(label="export ONNX", mode="w", filter="*.onnx", nullable=True)
        self.preview = CheckBox(text="live preview of the ×2 (every few seconds)", value=True)
        self.compare = CheckBox(text="add bicubic ×2 to compare", value=True)
        self.doubt = CheckBox(text="add doubt map (where the ×2 may not be real)", value=True)
        self.preview_every = 3.0  # seconds between previews at least (their cost stays under 5 % anyway)
        self.preview_budget = 0.05  # share of the training time previews may take
        self.run_button = PushButton(text="Train && super-resolve")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.status = Label(value="")
        self.kernel_state = Label(label="kernel", value="")
        self.verdict = Label(label="verdict", value="")
        super().__init__(widgets=self._form())
        self.verdict.native.setWordWrap(True)  # resolution before -> after and the doubt: one long line
        # room for the wrapped line (up to four rows with a "detail uncertain" clause): a squeezed dock
        # would otherwise clip it to one row
        self.verdict.native.setMinimumHeight(4 * self.verdict.native.fontMetrics().lineSpacing())
        self.kernel_state.native.setWordWrap(True)  # a blur that may be the optics: the state and its fix (two rows)
        self.loss_plot = LossPlot()
        self.native.layout().addWidget(self.loss_plot)
        self.runner = Runner(self._update, self._done, self._idle)
        self._job: TrainJob | None = None
        self._live: LiveLayers | None = None
        self.warm_up = warm_up()
        self._connect()
        runner = self.runner
        self.native.destroyed.connect(lambda *_: runner.close())  # closing the viewer ends the run
        self._follow_active(keep=False)  # not the chooser's first entry: the default

    def _form(self) -> list[Any]:
        self.image.tooltip = "the image to super-resolve (defaults to the selected layer); it is never changed"
        self.axes.tooltip = "what each dimension is: Z, T stack planes, C channels, Y X the image"
        self.iterations.tooltip = "training steps: the paper uses 3000; the preset compresses its schedule"
        self.kernel.tooltip = "a known blur kernel / PSF at the x2 pixel size replaces the kernel estimation"
        self.onnx.tooltip = "save the trained upsampler as .onnx to re-apply it (DualSR: apply ONNX model)"
        buttons = Container(widgets=[self.run_button, self.stop_button], layout="horizontal", labels=False)
        self.noise.tooltip = (
            "auto: measure the noise and, on a noisy image, learn to denoise while super-resolving; "
            "on / off: always / never (the paper's noise-free model)"
        )
        self.acquisition.tooltip = (
            "camera: recorded by a camera, the x2 kernel is pixel integration (the optics stay in the image); "
            "gaussian-blur: blurred by an unknown kernel and subsampled, the kernel is estimated; auto: decided "
            "from the image and its metadata, and said"
        )
        self.na.tooltip = "the objective's numerical aperture, where known (0: unknown); with the pixel size "
        self.na.tooltip += "(the layer's scale in µm or nm) it tells whether the camera under-samples the optics"
        self.wavelength.tooltip = "emission wavelength in nm, where known (0: unknown)"
        options = [self.preset, self.iterations, self.scale, self.device, self.seed, self.noise, self.acquisition]
        options += [self.na, self.wavelength]
        self.doubt.tooltip = (
            "a layer that marks where the ×2 may be far from what the image supports: its two estimates "
            "disagree, or it does not give the input back (one more pass over the image, no training time); "
            f"'in doubt': above {100 * DOUBT_LEVEL:g} % of the range, where 4 in 5 pixels are off by more than 1 % "
            "on the generated sets (docs/trust.md)"
        )
        self.verdict.tooltip = (
            "resolution of the input and of the ×2 (decorrelation analysis; 'gained' only where the ×2 reads finer "
            "than the input and than its bicubic ×2) and the share of the ×2 in doubt"
        )
        extras = [self.kernel, self.kernel_file, self.onnx, self.preview, self.compare, self.doubt]
        readouts = [self.status, self.kernel_state, self.verdict]
        return [self.image, self.axes, *self.planes.widgets, *options, *extras, buttons, *readouts]

    def _kernel_choices(self, _: Any) -> list[tuple[str, Image]]:
        return [(n, layer) for n, layer in image_layers(self.viewer) if layer.ndim == 2 and max(layer.data.shape) <= 63]

    def _connect(self) -> None:
        self.image.changed.connect(self._image_changed)
        self.axes.changed.connect(self._show_plane)
        self.preset.changed.connect(self._preset_changed)
        self.planes.connect(self._show_plane)
        self.viewer.dims.events.point.connect(self._show_plane)
        for event in (self.viewer.dims.events.point, self.viewer.camera.events.center, self.viewer.camera.events.zoom):
            event.connect(self._aim)
        self.preview.changed.connect(self._aim)
        self.viewer.layers.selection.events.active.connect(self._follow_active)
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.runner.stop)

    def _preset_changed(self, name: str) -> None:
        """The preset's own steps, noise model and acquisition (the paper's: noise-free, blur and subsampling)."""
        self.iterations.value = PRESETS[name]
        self.noise.value = preset(name).noise
        self.acquisition.value = preset(name).acquisition

    def reset_choices(self, *_: Any) -> None:
        super().reset_choices()
        self._show_plane()

    def _follow_active(self, *_: Any, keep: bool = True) -> None:
        self.reset_choices()
        follow_active(self.viewer, self.image, self._fits, keep)

    def _fits(self, layer: Any) -> bool:
        """Layers this form would train on: big enough for the preset's patches."""
        return usable(layer, preset(self.preset.value, **self.config_overrides).min_image_size)

    def _image_changed(self, *_: Any) -> None:
        self.axes.reset_choices()
        self._show_plane()

    def _show_plane(self, *_: Any) -> None:
        self.planes.show(self.image.value, self.axes.value, self.viewer.dims.point)

    def _aim(self, *_: Any) -> None:
        """Point the running job's previews at what the viewer shows now (or switch them off)."""
        if self.runner.running and self._live is not None:
            self.runner.controls.previews.view = self._live.view() if self.preview.value else None

    def job(self) -> TrainJob:
        """The job the form describes; DualSRInputError if it cannot run."""
        layer, axes = self.image.value, self.axes.value
        if self.kernel.value is not None and self.kernel_file.value is not None:
            raise DualSRInputError("choose a known kernel layer or a kernel file, not both")
        plane = self.planes.planes(layer, axes, self.viewer.dims.point)
        return train_job(
            layer,
            preset_name=self.preset.value,
            iterations=self.iterations.value,
            seed=self.seed.value,
            device=self.device.value,
            axes=axes,
            plane=plane,
            known_kernel=self.kernel.value if self.kernel.value is not None else self.kernel_file.value,
            onnx_path=self.onnx.value,
            compare=self.compare.value,
            doubt=self.doubt.value,
            instrument=instrument_of(layer, self.na.value, self.wavelength.value),
            **{"scale": self.scale.value, "noise": self.noise.value, "acquisition": self.acquisition.value}
            | self.config_overrides,
        )

    def start(self, *_: Any) -> None:
        """Check the form, then train on a worker thread; problems become notifications."""
        if self.runner.running or (job := checked_job(self.job, self.status, self.verdict)) is None:
            return
        self._job, self._live = job, LiveLayers(self.viewer, self.image.value, job.source)
        self.loss_plot.clear()
        self.status.value = "starting…"
        self.kernel_state.value = self.verdict.value = ""
        self.kernel_state.tooltip = ""
        self.run_button.enabled, self.stop_button.enabled = False, True
        self.stop_button.text = "Stop"
        self._live.prepare(self.preview.value, job.compare)
        view = self._live.view() if self.preview.value else None
        controls = Controls(previews=PreviewClock(every=self.preview_every, budget=self.preview_budget, view=view))
        self.runner.start(train_updates, self._job, controls=controls)

    def _update(self, update: Update) -> None:
        if update.kernel_state:
            self.kernel_state.value = KERNEL_STATES.get(update.kernel_state, update.kernel_state)
        if update.phase in IMAGE_PHASES:
            self._live.show(update)
        elif update.phase == "training" and update.losses:
            self.loss_plot.add(update.done, update.losses)
            losses = "  ".join(f"{SERIES[k][0]} {update.losses[k]:.3g}" for k in ("cycle_forward", "interp"))
            self.status.value = f"step {update.done}/{update.total}  {update.seconds:.0f} s  {losses}"
        elif update.phase == "training":
            self.status.value = "training… (losses every 10 steps)"
        else:
            self.status.value = f"{update.phase} {update.done}/{update.total}"
            self.stop_button.text = "Cancel"

    def _done(self, outcome: Outcome[Trained]) -> None:
        if (trained := outcome_value(outcome, self.status, self._job, self.verdict)) is not None:
            self._add_result(self._job, trained)
        elif self._live is not None:
            self._live.discard()

    def _add_result(self, job: TrainJob, trained: Trained) -> None:
        self._live.finish(trained)
        result = trained.result
        self.kernel_state.value = _kernel_line(result)
        self.kernel_state.tooltip = result.kernel_warning  # the whole why, where the line has no room
        done = f"{result.steps}/{job.config.iterations} steps in {result.seconds:.0f} s"
        note = " (stopped early: the result so far)" if result.stopped else ""
        saved = f"; model saved to {trained.onnx_path}" if trained.onnx_path else ""
        self.status.value = f"done: {done}{note}"
        show_info(f"DualSR: {job.source.name} ×2 after {done}{note}{saved}")
        if result.noise is not None:
            show_info(f"DualSR: {result.noise.reason}")
        for decision in result.acquisition:
            show_info(f"DualSR: acquisition {decision.model}: {decision.reason}")
        if result.stop_reason:
            show_warning(f"DualSR: {result.stop_reason}")
        if result.enlargement_warning:
            show_warning(f"DualSR: {result.enlargement_warning}")
        if result.kernel_warning:
            show_warning(f"DualSR: {result.kernel_warning}")
        if result.detail_warning:
            show_warning(f"DualSR: {result.detail_warning}")
        self.verdict.value = result.verdict
        if result.verdict:
            layer = " (layer 'doubt': toggle it on to see where)" if result.doubt is not None else ""
            show_info(f"DualSR: {result.verdict}{layer}")

    def _idle(self) -> None:
        self.run_button.enabled, self.stop_button.enabled = True, False
