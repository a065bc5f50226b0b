"""Helpers for the tests that drive the widgets in a real viewer (under ``xvfb-run -a``)."""

from __future__ import annotations

TINY = dict(hr_crop=64, lr_crop=32, up_features=16, dn_features=16, d_features=16)
TRAIN = "DualSR: train & super-resolve"
APPLY = "DualSR: apply ONNX model"


def open_widget(viewer, name):
    """Open one of the plugin's widgets from its manifest, as the Plugins menu does."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-dualsr", name)
    return widget


def errors_since(start: int, severity: str = "error") -> list[str]:
    """The notifications of ``severity`` shown since ``start`` (an index into the records)."""
    from napari.utils.notifications import notification_manager

    return [str(n.message) for n in notification_manager.records[start:] if n.severity == severity]


RESPONSIVE_S = 0.2  # the longest a widget's work may hold napari's event loop


def responsive_bound(qtbot, seconds: float = 1.0) -> float:
    """``RESPONSIVE_S`` plus the longest gap between 20 ms ticks while nothing runs: what the machine's
    own load (CI's busy processes, other jobs) adds to any gap, so that only the widget's blocking counts."""
    import time

    end = time.perf_counter() + seconds
    ticks = ticks_while(qtbot, lambda: None, lambda: time.perf_counter() < end)
    return RESPONSIVE_S + (max(b - a for a, b in zip(ticks, ticks[1:])) - 0.02 if len(ticks) > 1 else 0.0)


def ticks_while(qtbot, start, running, timeout_ms: int = 120_000) -> list[float]:
    """Call ``start()`` with a 20 ms QTimer ticking; the tick times until ``running()`` turns false.

    A frozen event loop shows as a long gap between ticks (the widgets must stay under
    :func:`responsive_bound`: 200 ms plus what the machine's load adds on its own).
    """
    import time

    from qtpy.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    start()
    qtbot.waitUntil(lambda: not running(), timeout=timeout_ms)
    timer.stop()
    return ticks
