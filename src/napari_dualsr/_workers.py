"""Worker generators: run a job, yield progress updates, return an outcome. No Qt here.

napari's ``thread_worker`` turns these generators into threads whose yields reach the
widget on the main thread. The core reports progress through callbacks deep inside
its loops, which cannot ``yield``; so the job runs on a helper thread and its reports
travel through a queue, coalesced to a few per second so a fast training cannot flood
the event loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from dualsr.engine.loop import StepInfo
from dualsr.errors import Cancelled, DualSRInputError
from dualsr.inference.upsampler import bicubic_x2
from dualsr.scale.batch import ArrayReport

from ._apply_zarr import ZarrRun, run_zarr
from ._jobs import Applied, ApplyJob, Trained, TrainJob, run_apply, run_train
from ._previews import PreviewClock, View, preview_step

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Update:
    """One progress report: ``phase`` ("training", "super-resolving", "exporting"), done of total.

    Two phases carry an image instead: "preview" (the x2 of ``view`` at step ``done``, with
    the kernel of that step) and "bicubic" (the whole input, bicubic x2, to compare with).
    """

    phase: str
    done: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    kernel_state: str = ""
    image: np.ndarray | None = None
    view: View | None = None
    kernel: np.ndarray | None = None


IMAGE_PHASES = ("preview", "bicubic")  # updates that carry an image, not a step of a progress bar


@dataclass
class Outcome(Generic[T]):
    """How a run ended: a value, a one-line error for the user, or cancelled."""

    value: T | None = None
    error: str | None = None
    cancelled: bool = False


@dataclass
class Controls:
    """Flags the widget sets and the run polls: stop training (keep it), or cancel everything."""

    stop: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)
    previews: PreviewClock = field(default_factory=PreviewClock)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled on request")


Report = Callable[[Update], None]


def train_updates(job: TrainJob, controls: Controls, interval: float = 0.05) -> Generator[Update, None, Outcome]:
    """Train ``job``; ``controls.stop`` ends training with the result so far, ``cancel`` drops it.

    With ``job.compare`` the bicubic x2 comes first; during training, previews as
    ``controls.previews`` allows them.
    """

    def work(report: Report) -> Trained:
        def applied(done: int, total: int) -> None:
            controls.check_cancel()
            report(Update("super-resolving", done, total))

        def trained(s: StepInfo) -> None:
            report(Update("training", s.step, s.iterations, dict(s.losses), s.seconds, s.kernel_state))
            if (shown := preview_step(s, controls.previews)) is not None:
                report(Update("preview", s.step, s.iterations, image=shown[0], view=shown[1], kernel=s.kernel))

        if job.compare:
            report(Update("bicubic", 1, 1, image=bicubic_x2(job.source.data, job.source.axes)))
        controls.previews.started = time.perf_counter()
        return run_train(
            job,
            progress=trained,
            should_stop=lambda: controls.stop.is_set() or controls.cancel.is_set(),
            apply_progress=applied,
            export_progress=lambda done, total: report(Update("exporting", done, total)),
        )

    yield Update("training", 0, job.config.iterations)  # a bar at once; the core reports every 10 steps
    outcome = yield from relay(work, interval)
    if controls.cancel.is_set() and outcome.error is None:
        return Outcome(cancelled=True)
    return outcome


def apply_updates(job: ApplyJob, controls: Controls, interval: float = 0.05) -> Generator[Update, None, Outcome]:
    """x2 every plane of ``job`` with its ONNX model; ``controls.cancel`` stops between tiles."""

    def work(report: Report) -> Applied:
        return run_apply(
            job,
            progress=lambda done, total: report(Update("super-resolving", done, total)),
            should_stop=controls.cancel.is_set,
        )

    return (yield from relay(work, interval))


ZARR_PHASES = {"normalising": "normalising", "blocks": "super-resolving"}


def zarr_apply_updates(run: ZarrRun, controls: Controls, interval: float = 0.05) -> Generator[Update, None, Outcome]:
    """Fill ``run``'s output block by block; ``controls.cancel`` stops between blocks (finished ones stay)."""

    def work(report: Report) -> ArrayReport:
        def progress(phase: str, done: int, total: int) -> None:
            report(Update(ZARR_PHASES.get(phase, phase), done, total))

        return run_zarr(run, progress=progress, should_stop=controls.cancel.is_set)

    return (yield from relay(work, interval))


def warm_up() -> threading.Thread:
    """Pay torch's one-time lazy imports on a background thread while the form is filled in.

    The first ``torch.optim.Adam`` imports ``torch._dynamo`` and sympy: seconds of work
    that holds the GIL for hundreds of milliseconds at a time. Inside the first training
    that would freeze the viewer; here it overlaps with the user choosing options.
    """

    def run() -> None:
        import torch

        torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    thread = threading.Thread(target=run, name="dualsr-warm-up", daemon=True)
    thread.start()
    return thread


def relay(work: Callable[[Report], Any], interval: float = 0.05) -> Generator[Update, None, Outcome]:
    """Run ``work(report)`` on a helper thread, yield the newest report per phase, return its outcome.

    Previews are all passed on: each holds a different tile of the view, so an older one is not
    stale (there are few: at most one every few seconds).

    Errors never escape: the user's mistakes come back as their one-line message,
    anything else as ``Type: message`` with the traceback in the log.
    """
    reports: queue.SimpleQueue = queue.SimpleQueue()
    outcome: Outcome = Outcome()

    def target() -> None:
        try:
            outcome.value = work(reports.put)
        except Cancelled:
            outcome.cancelled = True
        except DualSRInputError as exc:
            outcome.error = str(exc)
        except MemoryError as exc:  # napari stays up; the user needs the way out, not a type name
            outcome.error = f"out of memory ({exc or 'no detail'}); close layers or programs, or run it block by block"
            outcome.error += " from the command line (dualsr isotropic --block; dualsr apply on a .zarr)"
        except Exception as exc:
            log.exception("DualSR run failed")
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            reports.put(None)

    thread = threading.Thread(target=target, name="dualsr-run", daemon=True)
    thread.start()
    finished = False
    while not finished:
        batch = [reports.get()]
        if batch[0] is not None:
            time.sleep(interval)  # let reports pile up; only the newest matter
        batch += _drain(reports)
        finished = None in batch
        newest = {u.phase: u for u in batch if u is not None and u.phase != "preview"}
        yield from [u for u in batch if u is not None and u.phase == "preview"]
        yield from newest.values()
    thread.join()
    return outcome


def _drain(reports: queue.SimpleQueue) -> list[Any]:
    items = []
    while True:
        try:
            items.append(reports.get_nowait())
        except queue.Empty:
            return items
