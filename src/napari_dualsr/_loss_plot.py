"""A tiny live plot of the training losses, painted with QPainter (no plotting library)."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget

# The losses worth watching, with the paper's names (eq. 2) and a colour each.
SERIES = {
    "total": ("total", "#e8e8e8"),
    "cycle_forward": ("cycle fwd", "#4fc3f7"),
    "cycle_backward": ("cycle bwd", "#81c784"),
    "interp": ("interp", "#ffb74d"),
    "gan": ("GAN", "#f06292"),
}


class LossPlot(QWidget):
    """Log-scale loss curves against steps; ``add(step, losses)`` appends one point."""

    def __init__(self, parent: QWidget | None = None, max_points: int = 400) -> None:
        super().__init__(parent)
        self.max_points = max_points
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {k: [] for k in SERIES}
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("training losses (log scale) against steps")

    def clear(self) -> None:
        self.steps.clear()
        for v in self.values.values():
            v.clear()
        self.update()

    def add(self, step: int, losses: dict[str, float]) -> None:
        """Append one point; beyond ``max_points`` every other point is dropped (the curve keeps its shape)."""
        self.steps.append(step)
        for key, series in self.values.items():
            value = float(losses.get(key, math.nan))
            series.append(value if value > 0 else math.nan)  # a switched-off loss is 0: not on a log axis
        if len(self.steps) > self.max_points:
            self.steps = self.steps[::2]
            self.values = {k: v[::2] for k, v in self.values.items()}
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.fillRect(self.rect(), QColor("#262930"))
        self._legend(painter)
        if len(self.steps) >= 2:
            self._curves(painter)
        painter.end()

    def _legend(self, painter: QPainter) -> None:
        x = 6
        for label, colour in SERIES.values():
            painter.setPen(QColor(colour))
            painter.drawText(x, 13, label)
            x += painter.fontMetrics().horizontalAdvance(label) + 10

    def _curves(self, painter: QPainter) -> None:
        logs = [math.log10(v) for vs in self.values.values() for v in vs if v > 0]
        if not logs:
            return
        low, high = min(logs), max(logs)
        span = (high - low) or 1.0
        left, top, width, height = 6, 22, self.width() - 12, self.height() - 40
        first, last = self.steps[0], self.steps[-1]
        for key, (_, colour) in SERIES.items():
            points = [
                QPointF(
                    left + width * (s - first) / max(last - first, 1),
                    top + height * (1 - (math.log10(v) - low) / span),
                )
                for s, v in zip(self.steps, self.values[key])
                if v > 0
            ]
            painter.setPen(QPen(QColor(colour), 1.5))
            painter.drawPolyline(QPolygonF(points))
        painter.setPen(QColor("#9a9a9a"))
        painter.drawText(left, self.height() - 4, f"step {first}-{last}   loss {10**low:.2g}-{10**high:.2g} (log)")

    def sizeHint(self):  # noqa: N802
        size = super().sizeHint()
        size.setHeight(120)
        return size
