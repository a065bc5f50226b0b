"""When the training thread previews, and what: one tile of the view at a time. No Qt here.

A whole-plane x2 costs several training steps on a CPU (256^2 with the fast preset: about
three), so refreshing all of it every few seconds would cost far more than the 5 % of
training time a preview may take. Instead each preview super-resolves one tile of what is
in view, sized from the measured cost so that one tile takes about ``budget * every``
seconds; tiles go centre-out and start over, so the view is refreshed tile by tile, and
fully when zoomed in on a detail. A view keeps its grid (sized when it first appears) of
about ``MAX_TILES`` tiles (centred on the view: up to 5 x 5), so no part of it shows a
preview more than one sweep old (larger tiles just come less often).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from dualsr.engine.loop import StepInfo

Region = tuple[int, int, int, int]  # y0, y1, x0, x1 in input pixels (dualsr.inference.preview)
log = logging.getLogger(__name__)
FIRST_TILE = 96  # side of the first tile, before any cost is measured
MIN_TILE = 32
MAX_TILES = 16  # tiles of this size cover the view; the centred grid cuts up to 25
# G_UP right after its first Adam steps is no x2 at all: on the noisy sample the model of step 1
# is 36 % of full scale from bicubic on average (mean +55 %, 42 % of a tile pinned at white);
# from step 10, the first regular report, it is within 1 % in mean. Previews start there.
FIRST_STEP = 10


@dataclass(frozen=True)
class View:
    """What the viewer shows of the input: a flat plane number and a region of it."""

    plane: int
    region: Region


@dataclass
class PreviewClock:
    """When the training thread may spend time on a preview, on which tile, and the cost so far.

    At most one preview per ``every`` seconds, and only while previews stay within
    ``budget`` of the training time: their cost is bounded by construction. The widget
    sets ``view`` (None: no previews); the training thread reads it.
    """

    every: float = 3.0
    budget: float = 0.05
    view: View | None = None
    spent: float = 0.0  # seconds spent in previews
    count: int = 0
    pixels: int = 0  # input pixels previewed
    started: float = field(default_factory=time.perf_counter)
    trained: float = 0.0  # seconds from the start of training to the latest report or preview
    last: float = 0.0  # when the latest preview ended
    _tiles: list[Region] = field(default_factory=list)
    _tiled: View | None = None  # the view the tiles were cut from
    _side: int = FIRST_TILE  # their size

    def due(self) -> bool:
        """Whether a preview may run now; also marks the time of this report."""
        now = time.perf_counter()
        self.trained = now - self.started
        view = self.view
        if view is None:
            return False
        since = now - (self.last if self.count else self.started)  # the first after `every` s of training
        if since < self.every:
            return False
        y0, y1, x0, x1 = self._upcoming(view)
        next_cost = (y1 - y0) * (x1 - x0) * self.spent / max(self.pixels, 1)  # at the cost per pixel so far
        return self.spent + next_cost <= self.budget * (self.trained + next_cost)

    def next_tile(self, view: View) -> Region:
        """The next tile of ``view``: centre-out, starting over when all were shown."""
        tile = self._upcoming(view)
        self._tiles.pop(0)
        return tile

    def _upcoming(self, view: View) -> Region:
        if view != self._tiled:  # a new view: a grid for it, kept for all its sweeps (no stale slivers)
            y0, y1, x0, x1 = view.region
            fewest = math.ceil(math.sqrt((y1 - y0) * (x1 - x0) / MAX_TILES))  # about MAX_TILES per sweep
            self._side, self._tiles, self._tiled = max(self.tile_side(), fewest), [], view
        if not self._tiles:
            self._tiles = tiles(view.region, self._side)
        return self._tiles[0]

    def tile_side(self) -> int:
        """A tile side whose preview should take ``budget * every`` seconds, as measured so far."""
        if not self.pixels:
            return FIRST_TILE
        return max(MIN_TILE, math.isqrt(int(self.budget * self.every * self.pixels / max(self.spent, 1e-9))))

    def record(self, seconds: float, region: Region) -> None:
        self.spent, self.count, self.last = self.spent + seconds, self.count + 1, time.perf_counter()
        self.pixels += (region[1] - region[0]) * (region[3] - region[2])
        self.trained = self.last - self.started

    @property
    def fraction(self) -> float:
        """Time spent in previews as a fraction of the training time, previews included."""
        return self.spent / self.trained if self.trained > 0 else 0.0


def tiles(region: Region, side: int) -> list[Region]:
    """``region`` cut into a grid of ``side``-pixel tiles, one centred on it; nearest the centre first."""
    y0, y1, x0, x1 = region
    rows, cols = _edges(y0, y1, side), _edges(x0, x1, side)
    cut = [(a, b, c, d) for a, b in zip(rows, rows[1:]) for c, d in zip(cols, cols[1:])]
    centre = ((y0 + y1) / 2, (x0 + x1) / 2)
    return sorted(cut, key=lambda t: math.hypot((t[0] + t[1]) / 2 - centre[0], (t[2] + t[3]) / 2 - centre[1]))


def _edges(low: int, high: int, side: int) -> list[int]:
    """Tile edges along one axis: every ``side`` pixels from a tile centred on ``low..high``; the
    end tiles take up what is left (between half and one and a half ``side``)."""
    start = (low + high - side) / 2
    n = math.ceil((high - low) / side) + 1
    inner = {round(start + k * side) for k in range(-n, n + 1)}
    return sorted({low, high} | {e for e in inner if low + side / 2 <= e <= high - side / 2})  # no slivers


def preview_step(s: StepInfo, clock: PreviewClock) -> tuple[np.ndarray, View] | None:
    """The x2 of the next tile of the view the widget asked for, if the clock allows one now."""
    view = clock.view
    if not clock.due() or view is None or s.preview is None or s.step < FIRST_STEP:
        return None
    tile = clock.next_tile(view)
    start = time.perf_counter()
    try:
        image = s.preview(region=tile, plane=view.plane)
    except Exception:  # out of GPU memory, say: previews stop, training goes on
        log.warning("DualSR preview failed; previews are off for this run", exc_info=True)
        clock.view = None
        return None
    clock.record(time.perf_counter() - start, tile)
    return image, View(view.plane, tile)
