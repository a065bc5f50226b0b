"""Where whole-dataset work runs: dask.distributed, on a local cluster or one given by address.

``local_cluster(workers)`` starts worker processes on this machine (one per core by
default) and closes them afterwards; ``connect(address)`` joins a running scheduler.
Either way the work is a stream of small tasks (one file, or one block of an array)
kept a few per worker thread ahead, so a dataset of any size never lives in the
scheduler at once, Ctrl-C stops within a block, and progress is counted per task.

Each worker opens the model once (:func:`worker_model`, cached per process) and runs
onnxruntime on one thread per dask thread: dask's ``nthreads`` is the cores it may use.
The tasks run on any ``concurrent.futures`` executor (:func:`run_tasks`): napari uses a
pool of threads, because an in-process dask cluster's bookkeeping set off full garbage
collections of napari's heap (0.35-0.7 s freezes of the viewer, measured).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import importlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dualsr.errors import Cancelled, DualSRInputError

QUIET = {"logging.distributed": "critical"}  # a failed task is reported once, as one line, by the command
CONNECT_S = 10.0  # how long to look for a scheduler (dask's own default, 30 s, is long for a typo)


@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to open the model itself: a path every worker sees, and how.

    ``digest`` (the file's SHA-256) keys the per-worker cache, so a long-lived cluster
    never runs an older file of the same name. ``threads``: onnxruntime threads per
    session; one, because the parallelism is the tasks': a dask worker runs ``nthreads``
    of them at once, dask's share of the cores.
    """

    path: str
    device: str = "auto"
    allow_foreign: bool = False
    digest: str = ""
    threads: int = 1


@functools.lru_cache(maxsize=4)
def worker_model(spec: ModelSpec) -> Any:
    """The model as an ``OnnxUpsampler``, opened once per process: one session per worker."""
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    return OnnxUpsampler(spec.path, spec.device, allow_foreign=spec.allow_foreign, threads=spec.threads)


@contextmanager
def local_cluster(workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``workers`` local worker processes (default: one per core), closed after."""
    import dask
    from distributed import Client, LocalCluster

    cores = os.cpu_count() or 1
    n = workers or cores
    with dask.config.set(QUIET):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=max(1, cores // n),
            dashboard_address=":0",  # no dashboard; its HTTP server on a free port, not a clash on 8787
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.CRITICAL,
        )
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A ``distributed.Client`` on the scheduler at ``address``; a one-line error when there is none."""
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    try:
        with dask.config.set(QUIET):
            client = Client(address, set_as_default=False, timeout=min(configured, CONNECT_S))
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DualSRInputError(
            f"cannot reach a dask scheduler at {address} ({reason}); start one (`dask scheduler`, then "
            "`dask worker ADDRESS`) or leave out --scheduler to use a local cluster"
        ) from exc
    try:
        yield client
    finally:
        client.close()


@contextmanager
def client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """The cluster the command line asked for (``--scheduler ADDRESS`` or ``--workers N`` local ones),
    its workers done with their imports (torch comes with dualsr: seconds per process)."""
    with connect(scheduler) if scheduler else local_cluster(workers) as c:
        try:
            c.run(importlib.import_module, "dualsr.scale.batch")
        except ImportError as exc:
            raise DualSRInputError(
                f"the dask workers cannot import dualsr ({exc}); install napari-dualsr where they run"
            ) from exc
        yield c


def executor(client: Any) -> cf.Executor:
    """The client as a ``concurrent.futures`` executor (tasks are not pure: they write files)."""
    return client.get_executor(pure=False)


def capacity(client: Any) -> int:
    """How many tasks the cluster runs at once (its worker threads)."""
    return max(1, sum(client.nthreads().values()))


def run_tasks(
    pool: cf.Executor,
    fn: Callable[..., Any],
    tasks: Iterable[tuple],
    on_result: Callable[[tuple, Any], None],
    ahead: int,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """``fn(*task)`` for each task on ``pool``, at most ``ahead`` in flight; ``on_result`` in order of completion.

    The first failure, Ctrl-C or ``should_stop()`` (polled every 0.2 s, then
    :class:`Cancelled`) cancels what has not run yet; results already reported stay.
    """
    pending = iter(tasks)
    running: dict[cf.Future, tuple] = {}
    try:
        while True:
            while len(running) < ahead and (task := next(pending, None)) is not None:
                running[pool.submit(fn, *task)] = task
            if not running:
                return
            done, _ = cf.wait(running, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for future in done:
                on_result(running.pop(future), future.result())
            if should_stop is not None and should_stop():
                raise Cancelled("stopped on request")
    finally:
        for future in running:
            future.cancel()
