"""Plugins > DualSR: apply ONNX model -- re-run an exported upsampler on any image layer.

Same pattern as the train widget: the form checks into an ``ApplyJob``, onnxruntime
runs in ``_workers.apply_updates`` on a thread, the result is placed by ``_layers``.
"""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton, SpinBox
from napari.utils.notifications import show_info
from napari.viewer import Viewer

from dualsr.device import available_devices

from ._jobs import Applied, ApplyJob, apply_job, axes_choices, usable
from ._layers import add_layers, applied_layers, follow_active, image_layers
from ._runner import Runner, checked_job, outcome_value
from ._workers import Outcome, Update, apply_updates


class ApplyWidget(Container):
    """x2 every plane of an image layer with a DualSR model exported to ONNX."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.model = FileEdit(label="model", filter="*.onnx", nullable=True)
        self.image = ComboBox(label="image", choices=lambda _: image_layers(self.viewer))
        self.axes = ComboBox(label="axes", choices=lambda _: axes_choices(self.image.value))
        self.device = ComboBox(label="device", choices=available_devices(), value="auto")
        self.tile = SpinBox(label="tile", min=64, max=8192, step=64, value=512)
        self.run_button = PushButton(text="Apply")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.model.tooltip = "a .onnx file saved by DualSR: train & super-resolve (export ONNX)"
        self.tile.tooltip = "tile size in pixels: smaller needs less memory; the result is the same"
        buttons = Container(widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False)
        super().__init__(widgets=[self.model, self.image, self.axes, self.device, self.tile, buttons, self.status])
        self.runner = Runner(self._update, self._done, self._idle)
        self._job: ApplyJob | None = None
        self.image.changed.connect(self.axes.reset_choices)
        self.run_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.runner.cancel)
        self.viewer.layers.selection.events.active.connect(self._follow_active)
        runner = self.runner
        self.native.destroyed.connect(lambda *_: runner.close())  # closing the viewer ends the run
        self._follow_active(keep=False)  # not the chooser's first entry: the default

    def _follow_active(self, *_: Any, keep: bool = True) -> None:
        self.reset_choices()
        follow_active(self.viewer, self.image, usable, keep)

    def job(self) -> ApplyJob:
        """The job the form describes; DualSRInputError if it cannot run."""
        return apply_job(
            self.image.value, self.model.value, axes=self.axes.value, device=self.device.value, tile=self.tile.value
        )

    def start(self, *_: Any) -> None:
        """Check the form, then run the model on a worker thread; problems become notifications."""
        if self.runner.running or (job := checked_job(self.job)) is None:
            return
        self._job = job
        self.status.value = "starting…"
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.runner.start(apply_updates, self._job)

    def _update(self, update: Update) -> None:
        self.status.value = f"{update.phase} {update.done}/{update.total}"

    def _done(self, outcome: Outcome[Applied]) -> None:
        if (applied := outcome_value(outcome, self.status, self._job)) is not None:
            add_layers(self.viewer, applied_layers(self._job.source, applied))
            self.status.value = "done"
            show_info(f"DualSR: {self._job.source.name} ×2 with {self._job.model.name}")

    def _idle(self) -> None:
        self.run_button.enabled, self.cancel_button.enabled = True, False
