"""napari plugin for DualSR: a thin layer over the ``dualsr`` core."""

from dualsr import __version__

__all__ = ["__version__"]
