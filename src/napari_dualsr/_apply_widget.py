"""Plugins > DualSR: apply ONNX model -- re-run an exported upsampler on any image layer.

Same pattern as the train widget: the form checks into an ``ApplyJob``, onnxruntime
runs in ``_workers.apply_updates`` on a thread, the result is placed by ``_layers``.
With an *output Zarr* (required for dask- or Zarr-backed layers, which are never read
whole) the x2 layer appears at once, backed by that Zarr, and fills block by block,
the plane on screen first (``_apply_zarr``).
"""

from __future__ import annotations

import time
from typing import Any

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton, SpinBox
from napari.utils.notifications import show_info
from napari.viewer import Viewer

from dualsr.io.axes import Layout
from dualsr.runtime.device import available_devices
from dualsr.trust.readout import verdict

from ._apply_zarr import ZarrRun, prepare_zarr
from ._jobs import Applied, ApplyJob, apply_job, axes_choices, plane_on_screen, usable
from ._layers import add_layers, applied_layers, follow_active, image_layers
from ._runner import Runner, checked_job, outcome_value, say_failed
from ._workers import Outcome, Update, apply_updates, zarr_apply_updates

REFRESH_S = 0.25  # the filling x2 layer is redrawn at most this often


class ApplyWidget(Container):
    """x2 every plane of an image layer with a DualSR model exported to ONNX."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self.model = FileEdit(label="model", filter="*.onnx", nullable=True)
        self.image = ComboBox(label="image", choices=lambda _: image_layers(self.viewer))
        self.axes = ComboBox(label="axes", choices=lambda _: axes_choices(self.image.value))
        self.device = ComboBox(label="device", choices=available_devices(), value="auto")
        self.tile = SpinBox(label="tile", min=64, max=8192, step=64, value=512)
        self.output = FileEdit(label="output Zarr", mode="w", filter="*.zarr", nullable=True)
        self.run_button = PushButton(text="Apply")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.reason = Label(value="")  # a refusal's or a failure's why, kept after its notification fades
        self.reason.native.setWordWrap(True)
        self.model.tooltip = "a .onnx file saved by DualSR: train & super-resolve (export ONNX)"
        self.tile.tooltip = "tile size in pixels: smaller needs less memory; the result is the same"
        self.output.tooltip = (
            "a .zarr to write the x2 result to block by block (tile x tile each), shown as it fills; required "
            "for layers not in memory (dask, Zarr); Apply again with the same output resumes"
        )
        buttons = Container(widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False)
        widgets = [self.model, self.image, self.axes, self.device, self.tile, self.output, buttons, self.status]
        widgets.append(self.reason)
        super().__init__(widgets=widgets)
        self.runner = Runner(self._update, self._done, self._idle)
        self._job: ApplyJob | None = None
        self._filling: Any = None  # the x2 layer a Zarr run fills
        self._drawn = 0.0
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
        layer = self.image.value
        return apply_job(
            layer,
            self.model.value,
            axes=self.axes.value,
            device=self.device.value,
            tile=self.tile.value,
            output=self.output.value,
            plane=self._plane_on_screen(layer),
        )

    def _plane_on_screen(self, layer: Any) -> int | None:
        """Flat index of the plane the viewer shows (a Zarr run does it first)."""
        if layer is None or self.axes.value is None:
            return None
        plane = plane_on_screen(layer, self.viewer.dims.point, self.axes.value)
        return None if plane is None else Layout.of(layer.data.shape, self.axes.value).plane_index(plane)

    def start(self, *_: Any) -> None:
        """Check the form, then run the model on a worker thread; problems become notifications."""
        if self.runner.running or (job := checked_job(self.job, self.status, self.reason)) is None:
            return
        self.reason.value = ""
        if job.output is not None:
            self._start_zarr(job)
            return
        self._job = job
        self.status.value = "starting…"
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.runner.start(apply_updates, self._job)

    def _start_zarr(self, job: ApplyJob) -> None:
        """Create the output, show it as the x2 layer, then fill it on a worker thread."""
        if (run := checked_job(lambda: prepare_zarr(job), self.status, self.reason)) is None:
            return
        self._job = job
        self._filling = (
            self._showing(run)
            or add_layers(self.viewer, applied_layers(job.source, Applied(run.view, run.metadata)))[0]
        )
        self.status.value = "starting…"
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.runner.start(zarr_apply_updates, run)

    def _showing(self, run: ZarrRun) -> Any:
        """The layer that already shows this output (a resumed run fills it further), if any."""
        for layer in self.viewer.layers:
            if layer.metadata.get("dualsr", {}).get("output") == run.metadata["output"]:
                return layer
        return None

    def _update(self, update: Update) -> None:
        self.status.value = f"{update.phase} {update.done}/{update.total}"
        if self._filling is not None and update.phase == "super-resolving":
            self._redraw()

    def _redraw(self, force: bool = False) -> None:
        if force or time.perf_counter() - self._drawn > REFRESH_S:
            self._filling.refresh()
            self._drawn = time.perf_counter()

    def _done(self, outcome: Outcome[Any]) -> None:
        if self._filling is not None:
            self._zarr_done(outcome)
            return
        if (applied := outcome_value(outcome, self.status, self._job, self.reason)) is not None:
            add_layers(self.viewer, applied_layers(self._job.source, applied))
            line = verdict(applied.metadata.get("resolution"))
            self.status.value = f"done; {line}" if line else "done"
            show_info(f"DualSR: {self._job.source.name} ×2 with {self._job.model.name}" + (f"; {line}" if line else ""))

    def _zarr_done(self, outcome: Outcome[Any]) -> None:
        """The x2 layer is already there: say how the run ended; what was written stays."""
        self._redraw(force=True)
        self._filling = None
        where = self._job.output.name
        if outcome.error:
            say_failed(outcome.error, self.status, self.reason)
        elif outcome.cancelled:
            self.status.value = f"cancelled; Apply again to finish {where}"
            show_info(f"DualSR: cancelled; the finished blocks stay in {where}, Apply with it again to resume")
        else:
            self.status.value = "done"
            show_info(f"DualSR: {self._job.source.name} ×2 with {self._job.model.name}, written to {where}")

    def _idle(self) -> None:
        self.run_button.enabled, self.cancel_button.enabled = True, False
