"""Plugins > DualSR: train & super-resolve -- the form, and what its buttons do.

The form is magicgui widgets; checking the inputs is ``_jobs.train_job``, the work is
``_workers.train_updates`` on a thread, and the results become layers in ``_layers``.
"""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton, SpinBox
from napari.layers import Image
from napari.utils.notifications import show_info, show_warning
from napari.viewer import Viewer

from dualsr.config import PRESETS, preset
from dualsr.device import available_devices
from dualsr.errors import DualSRInputError

from ._jobs import Trained, TrainJob, axes_choices, describe_plane, plane_on_screen, train_job, usable
from ._layers import add_layers, follow_active, image_layers, trained_layers
from ._loss_plot import SERIES, LossPlot
from ._runner import Runner, checked_job, outcome_value
from ._workers import Outcome, Update, train_updates, warm_up


class TrainWidget(Container):
    """Train DualSR on one plane of an image layer; add the x2 image and the kernel as layers."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.config_overrides: dict[str, Any] = {}  # DualSRConfig fields, e.g. smaller patches (scripts, tests)
        self.image = ComboBox(label="image", choices=lambda _: image_layers(self.viewer))
        self.axes = ComboBox(label="axes", choices=lambda _: axes_choices(self.image.value))
        self.plane = Label(label="train on")
        self.preset = ComboBox(label="preset", choices=list(PRESETS), value="fast")
        self.iterations = SpinBox(label="iterations", min=1, max=100_000, step=100, value=PRESETS["fast"])
        self.scale = ComboBox(label="scale", choices=[("×2", 2)], tooltip="DualSR's networks are built for ×2")
        self.device = ComboBox(label="device", choices=available_devices(), value="auto")
        self.seed = SpinBox(label="seed", min=0, max=2**31 - 1, value=0)
        self.kernel = ComboBox(label="known kernel", nullable=True, value=None, choices=self._kernel_choices)
        self.kernel_file = FileEdit(label="or kernel file", filter="*.npy *.tif *.tiff *.png", nullable=True)
        self.onnx = FileEdit(label="export ONNX", mode="w", filter="*.onnx", nullable=True)
        self.run_button = PushButton(text="Train && super-resolve")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.status = Label(value="")
        super().__init__(widgets=self._form())
        self.loss_plot = LossPlot()
        self.native.layout().addWidget(self.loss_plot)
        self.runner = Runner(self._update, self._done, self._idle)
        self._job: TrainJob | None = None
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
        options = [self.preset, self.iterations, self.scale, self.device, self.seed]
        extras = [self.kernel, self.kernel_file, self.onnx]
        return [self.image, self.axes, self.plane, *options, *extras, buttons, self.status]

    def _kernel_choices(self, _: Any) -> list[tuple[str, Image]]:
        return [(n, layer) for n, layer in image_layers(self.viewer) if layer.ndim == 2 and max(layer.data.shape) <= 63]

    def _connect(self) -> None:
        self.image.changed.connect(self._image_changed)
        self.axes.changed.connect(self._show_plane)
        self.preset.changed.connect(lambda name: setattr(self.iterations, "value", PRESETS[name]))
        self.viewer.dims.events.point.connect(self._show_plane)
        self.viewer.layers.selection.events.active.connect(self._follow_active)
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.runner.stop)

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
        layer, axes = self.image.value, self.axes.value
        plane = plane_on_screen(layer, self.viewer.dims.point, axes) if layer is not None and axes else None
        self.plane.value = f"{describe_plane(axes or '', plane)} (the plane on screen)" if plane else "the whole image"

    def job(self) -> TrainJob:
        """The job the form describes; DualSRInputError if it cannot run."""
        layer, axes = self.image.value, self.axes.value
        if self.kernel.value is not None and self.kernel_file.value is not None:
            raise DualSRInputError("choose a known kernel layer or a kernel file, not both")
        plane = plane_on_screen(layer, self.viewer.dims.point, axes) if layer is not None and axes else None
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
            **{"scale": self.scale.value, **self.config_overrides},
        )

    def start(self, *_: Any) -> None:
        """Check the form, then train on a worker thread; problems become notifications."""
        if self.runner.running or (job := checked_job(self.job)) is None:
            return
        self._job = job
        self.loss_plot.clear()
        self.status.value = "starting…"
        self.run_button.enabled, self.stop_button.enabled = False, True
        self.stop_button.text = "Stop"
        self.runner.start(train_updates, self._job)

    def _update(self, update: Update) -> None:
        if update.phase == "training" and update.losses:
            self.loss_plot.add(update.done, update.losses)
            losses = "  ".join(f"{SERIES[k][0]} {update.losses[k]:.3g}" for k in ("cycle_forward", "interp"))
            self.status.value = f"step {update.done}/{update.total}  {update.seconds:.0f} s  {losses}"
        elif update.phase == "training":
            self.status.value = "training… (losses every 10 steps)"
        else:
            self.status.value = f"{update.phase} {update.done}/{update.total}"
            self.stop_button.text = "Cancel"

    def _done(self, outcome: Outcome[Trained]) -> None:
        if (trained := outcome_value(outcome, self.status, self._job)) is not None:
            self._add_result(self._job, trained)

    def _add_result(self, job: TrainJob, trained: Trained) -> None:
        add_layers(self.viewer, trained_layers(job.source, trained))
        result = trained.result
        done = f"{result.steps}/{job.config.iterations} steps in {result.seconds:.0f} s"
        note = " (stopped early: the result so far)" if result.stopped else ""
        saved = f"; model saved to {trained.onnx_path}" if trained.onnx_path else ""
        self.status.value = f"done: {done}{note}"
        show_info(f"DualSR: {job.source.name} ×2 after {done}{note}{saved}")
        if result.stop_reason:
            show_warning(f"DualSR: {result.stop_reason}")
        if result.kernel_warning:
            show_warning(f"DualSR: {result.kernel_warning}")

    def _idle(self) -> None:
        self.run_button.enabled, self.stop_button.enabled = True, False
