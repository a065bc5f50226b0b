"""DualSR: zero-shot x2 super-resolution of an image from that image alone.

Emad, Peemen, Corporaal, "DualSR: Zero-Shot Dual Learning for Real-World
Super-Resolution", WACV 2021. The core library: no Qt or napari import anywhere.
"""

from importlib.metadata import PackageNotFoundError, version

from . import _openmp  # noqa: F401  -- first: it configures OpenMP before torch is loaded
from .api import DualSRResult, GroupedUpsampler, bicubic_x2, train, upsample
from .config import PRESETS, DualSRConfig, preset
from .errors import DualSRInputError
from .trainer import StepInfo

try:
    __version__ = version("napari-dualsr")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "DualSRConfig",
    "DualSRInputError",
    "DualSRResult",
    "GroupedUpsampler",
    "PRESETS",
    "StepInfo",
    "__version__",
    "bicubic_x2",
    "preset",
    "train",
    "upsample",
]
