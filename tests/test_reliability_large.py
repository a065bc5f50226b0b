"""Large images (issue 6, area 2): bounded memory in training and in tiled inference.

Peak memory is measured with tracemalloc, which sees every numpy allocation (the
arrays that scale with the image); the figures for real sizes are in docs/reliability.md.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import dualsr
from conftest import textured
from dualsr.config import DualSRConfig
from dualsr.onnx_runtime import OnnxUpsampler

MB = 2**20


class _Measured(Exception):
    """Raised from the first progress report: training has started, nothing more is needed."""


def training_start_peak(image: np.ndarray, axes: str) -> int:
    """Peak numpy memory (bytes) from ``train()`` until its first step is done."""
    config = DualSRConfig(iterations=5, hr_crop=64, lr_crop=32, up_features=4, dn_features=8, d_features=8)
    peak: list[int] = []

    def stop(_info) -> None:
        peak.append(tracemalloc.get_traced_memory()[1])
        raise _Measured

    tracemalloc.start()
    try:
        with pytest.raises(_Measured):
            dualsr.train(image, axes=axes, config=config, progress=stop)
    finally:
        tracemalloc.stop()
    return peak[0]


def test_training_converts_only_the_trained_plane_of_a_stack():
    """24 planes of 1024^2 uint16: training reads the stack only for the percentiles (a
    strided sample capped at 4M values) and converts the one trained plane; its float64
    crop-sampling maps are the largest part. Measured: 64 MB for the stack, 60 MB for
    the plane alone (15 float32 planes), where a float32 copy of the stack is 96 MB."""
    plane = (textured((1024, 1024), seed=1) * 60000).astype(np.uint16)
    stack = np.broadcast_to(plane, (24, 1024, 1024)).copy()
    training_start_peak(plane[:128, :128], "YX")  # first-use imports (torch's optimisers) are not the image's
    stack_peak = training_start_peak(stack, "ZYX")
    plane_peak = training_start_peak(plane, "YX")
    float_plane = plane.size * 4
    print(f"training start: stack {stack_peak / MB:.0f} MB, one plane {plane_peak / MB:.0f} MB")
    assert plane_peak < 16 * float_plane
    assert stack_peak - plane_peak < 2 * float_plane  # the other 23 planes cost (almost) nothing
    assert stack_peak < stack.size * 4


def test_tiled_inference_memory_is_output_plus_a_few_tiles(onnx_model):
    """A 1024^2 uint16 image in 128-pixel tiles: tiles are normalised and restored one by
    one, so the only image-size array is the uint16 output (8 MB)."""
    _, path = onnx_model("grey16")
    up = OnnxUpsampler(path)
    image = (textured((1024, 1024), seed=4) * 50000).astype(np.uint16)
    tracemalloc.start()
    try:
        out = up.upsample(image, tile=128)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"tiled inference: output {out.nbytes / MB:.0f} MB, peak {peak / MB:.1f} MB")
    assert out.shape == (2048, 2048) and out.dtype == np.uint16
    assert peak < out.nbytes + 4 * MB  # one float32 tile of 272^2 x2 is 1.1 MB


def test_tiled_equals_untiled(onnx_model):
    _, path = onnx_model("grey16")
    up = OnnxUpsampler(path)
    image = (textured((70, 83), seed=2) * 7 - 3).astype(np.float32)
    whole = up.upsample(image, tile=None)
    for tile in (16, 40):
        assert np.abs(up.upsample(image, tile=tile) - whole).max() <= 1e-5
    ints = (textured((70, 83), seed=2) * 50000).astype(np.uint16)
    assert np.abs(up.upsample(ints, tile=20).astype(int) - up.upsample(ints, tile=0).astype(int)).max() <= 1
