"""Which planes of a stack the train widget trains on: the one on screen, all, or a range.

Several planes share one kernel and one upsampler (``dualsr.train(plane=[...])``): crops
come from all of them. A range counts planes in the stack's flat order (Z for ``ZYX``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Label, SpinBox

from dualsr.errors import DualSRInputError
from dualsr.io.axes import Layout, Planes

from ._jobs import describe_plane, plane_on_screen

THIS, ALL, RANGE = "this plane", "all planes", "planes from … to …"


class PlaneChoice:
    """The form rows for the training planes, and the ``plane`` argument they mean."""

    def __init__(self) -> None:
        self.mode = ComboBox(label="train on", choices=[THIS, ALL, RANGE], value=THIS)
        self.first = SpinBox(label="from plane", min=0, max=0, visible=False)
        self.last = SpinBox(label="to plane", min=0, max=0, visible=False)
        self.plane = Label(label="")
        self.mode.tooltip = "patches from several planes train one kernel and one model for the whole stack"

    @property
    def widgets(self) -> list[Any]:
        return [self.mode, self.first, self.last, self.plane]

    def connect(self, callback: Any) -> None:
        for widget in (self.mode, self.first, self.last):
            widget.changed.connect(callback)

    def show(self, layer: Any, axes: str | None, point: Sequence[float]) -> None:
        """Fit the rows to the layer's stack and say which planes a run would use."""
        layout = _layout(layer, axes)
        count = layout.planes if layout else 1
        self.mode.enabled = count > 1
        self.first.max = self.last.max = max(count - 1, 0)
        self.first.visible = self.last.visible = count > 1 and self.mode.value == RANGE
        if count == 1:
            self.plane.value = "the whole image"
            return
        try:
            planes = self.planes(layer, axes, point)
        except DualSRInputError as exc:
            self.plane.value = str(exc)
            return
        self.plane.value = _describe(layout, planes)

    def planes(self, layer: Any, axes: str | None, point: Sequence[float]) -> Planes:
        """``dualsr.train``'s ``plane``: a stack index, ``"all"`` or a range; None for 2D."""
        layout = _layout(layer, axes)
        if layout is None or layout.planes == 1:
            return None
        if self.mode.value == ALL:
            return "all"
        if self.mode.value == RANGE:
            if self.first.value > self.last.value:
                raise DualSRInputError(
                    f"planes from {self.first.value} to {self.last.value}: the first is after the last"
                )
            return range(self.first.value, self.last.value + 1)
        return plane_on_screen(layer, point, axes)


def _layout(layer: Any, axes: str | None) -> Layout | None:
    if layer is None or not axes:
        return None
    try:
        return Layout.of(np.shape(layer.data), axes)
    except DualSRInputError:
        return None


def _describe(layout: Layout, planes: Planes) -> str:
    if planes == "all":
        return f"all {layout.planes} planes: one kernel, one model"
    if isinstance(planes, range):
        ends = (describe_plane(layout.axes, np.unravel_index(i, layout.stack_shape)) for i in (planes[0], planes[-1]))
        return f"{len(planes)} planes, {' … '.join(dict.fromkeys(ends))}: one kernel, one model"
    return f"{describe_plane(layout.axes, planes)} (the plane on screen)"
