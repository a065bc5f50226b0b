"""A dependency-free text progress bar for the command line."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``label [#####-----] 12/30 0:05 left  extra`` on one refreshed stderr line."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 28) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1.0

    def update(self, done: int, total: int, extra: str = "") -> None:
        now = time.perf_counter()
        final = done >= total
        if not final and now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        frac = done / total if total else 1.0
        elapsed = now - self.start
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
        line = f"{self.label} [{bar}] {done}/{total} {_clock(elapsed)} elapsed, {_clock(left)} left {extra}"
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + line[:200] + end)
        self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"
