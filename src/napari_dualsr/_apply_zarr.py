"""Apply to a layer block by block into a Zarr: for layers that do not fit in memory.

The output array is created (or an unfinished one reopened) before the run starts, so
the x2 layer can show it at once, read lazily from disk. One thread per core fills it
block by block with the core's block engine (``dualsr.scale.batch.apply_array``), the plane
on screen first; the layer's data (numpy, Zarr, or dask: computed here one block at a
time) is read where it is, never whole. The widget refreshes the layer as blocks land.
Cancel keeps the finished blocks, and Apply with the same output resumes. No Qt here.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualsr._version import __version__
from dualsr.inference.blocks import InProcess, check_dtype, chunk_shape
from dualsr.io.zarr_io import model_digest, prepare_output
from dualsr.scale.batch import ArrayJob, ArrayReport, apply_array
from dualsr.scale.cluster import ModelSpec

from ._jobs import ApplyJob


@dataclass
class ZarrRun:
    """A prepared block-by-block run: the job, the core's array job, and the output for the layer."""

    job: ApplyJob
    array_job: ArrayJob
    view: Any  # the output opened read-only: the x2 layer's data

    @property
    def metadata(self) -> dict[str, Any]:
        return {"onnx_path": str(self.job.model), "output": str(self.job.output), "block": list(self.array_job.size)}


def prepare_zarr(job: ApplyJob) -> ZarrRun:
    """Check the model against the layer and create (or reopen) the output; nothing is computed yet."""
    import zarr

    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    assert job.output is not None
    data = job.source.data
    model = OnnxUpsampler(job.model, "cpu")  # the checks and the normalisation rule; workers open their own
    layout = model.check_layout(tuple(np.shape(data)), job.source.axes)
    dtype = np.dtype(data.dtype)
    check_dtype(dtype)
    size = (job.tile, job.tile)
    digest = model_digest(job.model)
    record = {
        "layer": job.source.name,
        "shape": list(layout.shape),
        "dtype": dtype.str,
        "model_sha256": digest,
        "block": list(size),
        "axes": layout.axes,
        "dualsr": __version__,
    }
    out = prepare_output(job.output, layout, dtype, model.scale, chunk_shape(layout, size, model.scale), record)
    spec = ModelSpec(str(job.model), job.device, digest=digest)
    array_job = ArrayJob(spec, model, InProcess(data), layout, dtype, size, out, job.plane)
    return ZarrRun(job, array_job, zarr.open_array(out.level0, mode="r"))


def run_zarr(
    run: ZarrRun,
    progress: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ArrayReport:
    """Fill the output on one thread per core (see ``dualsr.scale.cluster``); mark it complete at the end."""
    threads = os.cpu_count() or 1
    with frozen_heap(), cf.ThreadPoolExecutor(threads, thread_name_prefix="dualsr-block") as pool:
        report = apply_array(pool, 2 * threads, run.array_job, progress, should_stop)
    run.array_job.out.save(complete=True, model=run.job.model.name)
    return report


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Leave the objects that exist now out of garbage collection while a run lasts.

    napari's heap (with torch) holds about 600k tracked objects; one full collection of
    it took 0.35-0.7 s here and froze the viewer that long. A run of thousands of
    blocks makes enough short-lived objects to set such collections off; with the heap
    frozen (``gc.freeze``, undone at the end) they only scan what the run made.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
