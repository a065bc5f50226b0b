"""napari plugin for DualSR: a thin layer over the ``dualsr`` core.

The functions the widgets run are public for scripts (``examples/scripted_napari.py``):
``train_job`` -> ``run_train`` -> ``trained_layers`` -> ``add_layers``, and
``apply_job`` -> ``run_apply`` -> ``applied_layers``. They load lazily: napari imports
this package at start-up to find ``napari.yaml``, and should not pay for torch then.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("napari-dualsr")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

_PUBLIC = {
    "train_job": "_jobs",
    "run_train": "_jobs",
    "apply_job": "_jobs",
    "run_apply": "_jobs",
    "plane_on_screen": "_jobs",
    "trained_layers": "_layers",
    "applied_layers": "_layers",
    "add_layers": "_layers",
    "upscaled_placement": "_placement",
    "TrainWidget": "_train_widget",
    "ApplyWidget": "_apply_widget",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
