"""DualSR: zero-shot x2 super-resolution of an image from that image alone.

Emad, Peemen, Corporaal, "DualSR: Zero-Shot Dual Learning for Real-World
Super-Resolution", WACV 2021. The core library: no Qt, napari or Dask import anywhere in it.

The tree, from the bottom up (each subpackage's docstring says what it may import):

- ``config``, ``errors``: every hyper-parameter and preset; the one exception for input a user can fix;
- ``paper``: the paper and its reference implementation, only;
- ``kernels``, ``noise``: our extensions of the method (the spectral kernel, its convergence; noisy images);
- ``io``: arrays and files; ``inference``: from a model to an x2 image; ``runtime``: ONNX and devices;
- ``trust``: how far to trust a x2 (resolution before and after, the doubt map);
- ``engine``: ``train`` on real arrays; ``scale``: dask; ``evaluation``: the benchmark protocol;
- ``isotropic``: anisotropic stacks made isotropic (through-plane super-resolution);
- ``cli``: the ``dualsr`` command.
"""

from dualsr import _openmp  # noqa: F401  -- first: it configures OpenMP before torch is loaded
from dualsr._version import __version__
from dualsr.config import PRESETS, DualSRConfig, preset
from dualsr.engine.loop import StepInfo
from dualsr.engine.result import DualSRResult
from dualsr.engine.train import train
from dualsr.errors import DualSRInputError
from dualsr.inference.upsampler import GroupedUpsampler, bicubic_x2, upsample
from dualsr.io.acquisition import Instrument
from dualsr.isotropic import isotropic as isotropic  # callable: dualsr.isotropic(volume, voxel_size)


def __getattr__(name: str):  # noqa: ANN202 -- PEP 562: onnxruntime is imported only when asked for
    if name == "OnnxUpsampler":
        from dualsr.runtime.onnx_runtime import OnnxUpsampler

        return OnnxUpsampler
    raise AttributeError(f"module 'dualsr' has no attribute {name!r}")


__all__ = [
    "DualSRConfig",
    "DualSRInputError",
    "DualSRResult",
    "GroupedUpsampler",
    "Instrument",
    "OnnxUpsampler",
    "PRESETS",
    "StepInfo",
    "__version__",
    "bicubic_x2",
    "isotropic",
    "preset",
    "train",
    "upsample",
]
