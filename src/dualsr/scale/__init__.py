"""Whole datasets on dask.distributed: ``cluster`` (local workers or a scheduler's) and ``batch``
(many files into a folder, one large array into a Zarr, as streams of tasks).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.io``, ``dualsr.inference``, ``dualsr.runtime``.
Dask is imported here only, and only when a run needs it.
"""
