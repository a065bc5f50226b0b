"""The Qt side of a run, shared by both widgets: one worker, its progress bars, its end.

Updates arrive here on the main thread (napari's ``thread_worker`` queues them), so
this is the only place where the worker's stream meets napari objects. napari's
progress bars process pending Qt events whenever they change, so the run's end can
arrive *inside* a progress update: bars are touched last, and late updates are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from napari.qt.threading import thread_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info

from dualsr.errors import DualSRInputError

from ._workers import IMAGE_PHASES, Controls, Outcome, Update

J = TypeVar("J")
V = TypeVar("V")


def checked_job(make_job: Callable[[], J], status: Any = None, reason: Any = None) -> J | None:
    """The job a widget's form describes, or None after one notification saying why not; the ``status``
    and ``reason`` labels, where given, say it too (not a previous run's end)."""
    try:
        return make_job()
    except DualSRInputError as exc:
        if status is not None:
            status.value = "not started"
        if reason is not None:
            reason.value = str(exc)
        show_error(f"DualSR: {exc}")
        return None


def say_failed(error: str, status: Any, reason: Any = None) -> None:
    """A failed run: "failed" on ``status``, the why on ``reason`` (kept after it fades) and in a notification."""
    status.value = "failed"
    if reason is not None:
        reason.value = str(error)
    show_error(f"DualSR: {error}")


def outcome_value(outcome: Outcome[V], status: Any, job: object, reason: Any = None) -> V | None:
    """A finished run's value, or None after saying (``status`` label + notification) why not; ``reason``, a
    word-wrapped label, keeps a failure's why after the notification has faded."""
    if outcome.error:
        say_failed(outcome.error, status, reason)
        return None
    if outcome.cancelled or outcome.value is None or job is None:
        status.value = "cancelled"
        show_info("DualSR: cancelled; no layers were added")
        return None
    return outcome.value


class Runner:
    """Starts one worker at a time and shows one napari progress bar per phase."""

    def __init__(
        self,
        on_update: Callable[[Update], None],
        on_done: Callable[[Outcome], None],
        on_idle: Callable[[], None],
    ) -> None:
        self.on_update, self.on_done, self.on_idle = on_update, on_done, on_idle
        self.controls = Controls()
        self.worker: Any = None
        self.bars: dict[str, progress] = {}
        self.phase = ""
        self.ended = True

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(
        self, generator: Callable[..., Generator[Update, None, Outcome]], *args: Any, controls: Controls | None = None
    ) -> None:
        """Run ``generator(*args, controls)`` on a worker thread."""
        self.controls = controls or Controls()
        self.phase, self.ended = "", False
        worker = thread_worker(generator, start_thread=False)(*args, self.controls)
        worker.yielded.connect(self._update)
        worker.returned.connect(self._returned)
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()

    def stop(self) -> None:
        """End training now and keep its result; in later phases, cancel."""
        (self.controls.stop if self.phase in ("", "training") else self.controls.cancel).set()

    def cancel(self) -> None:
        self.controls.cancel.set()

    def close(self) -> None:
        """The widget is gone: cancel the run and stop calling back into it."""
        self.cancel()
        self.on_update, self.on_done, self.on_idle = _ignore, _ignore, _ignore

    def _update(self, update: Update) -> None:
        if self.ended:
            return
        if update.phase in IMAGE_PHASES:  # images for layers: no bar, no change of phase
            self.on_update(update)
            return
        self.phase = update.phase
        self.on_update(update)
        self._advance(update)

    def _advance(self, update: Update) -> None:
        """Move the phase's bar; napari may run the event loop (even this run's end) in here."""
        bar = self.bars.get(update.phase)
        if bar is None:
            bar = progress(total=update.total, desc=f"DualSR {update.phase}")
            if self.ended:
                bar.close()
                return
            self.bars[update.phase] = bar
        bar.update(update.done - bar.n)

    def _returned(self, outcome: Outcome) -> None:
        self.ended = True
        self._close_bars()
        self.on_done(outcome)

    def _finished(self) -> None:
        self.ended = True
        self._close_bars()
        self.worker = None
        self.on_idle()

    def _close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def _ignore(*_: Any) -> None:
    pass
