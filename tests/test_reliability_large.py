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
from dualsr.runtime.onnx_runtime import OnnxUpsampler

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


def _half_textured(size: int) -> np.ndarray:
    """Flat on the left, edges on the right: crops should go right."""
    image = np.zeros((1, size, size), np.float32)
    image[0, :, size // 2 :] = textured((size, size - size // 2), seed=3)
    return image


def test_huge_planes_sample_crops_on_a_coarser_grid():
    """Above MAP_PIXELS the sampling maps live on a block-averaged grid: their memory
    stops growing with the image, and crops still go where the edges are."""
    from dualsr.paper.patches import PatchSampler

    image = _half_textured(1044)
    peaks, samplers = [], []
    for max_pixels in (None, 128 * 128):  # full resolution (1024^2 fits), then an 8x coarser grid
        tracemalloc.start()
        try:
            samplers.append(PatchSampler(image, 128, 64, 2, 300, seed=0, max_pixels=max_pixels))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    print(f"sampling maps: full grid {peaks[0] / MB:.0f} MB, 8x coarser {peaks[1] / MB:.1f} MB")
    assert peaks[1] < image.nbytes and peaks[1] < peaks[0] / 10
    for s in samplers:
        for corners, crop in ((s.hr_corners, 128), (s.lr_corners, 64)):
            assert (corners % 2 == 0).all() and corners.min() >= 0 and corners.max() <= 1024 - crop
            assert (corners[:, 1] + crop > 512).mean() > 0.98  # crops reach into the textured half
        assert len(np.unique(s.lr_corners, axis=0)) > 200  # spread over the edges, not a few cells


def test_training_a_huge_plane_costs_little_beyond_the_plane(monkeypatch):
    """The coarse grid through ``train()``: a 1024^2 uint16 plane treated as "huge"."""
    import dualsr.paper.patches

    monkeypatch.setattr(dualsr.paper.patches, "MAP_PIXELS", 128 * 128)
    plane = (_half_textured(1024)[0] * 60000).astype(np.uint16)
    training_start_peak(plane[:128, :128], "YX")
    peak = training_start_peak(plane, "YX")
    print(f"training start, coarse maps: {peak / MB:.0f} MB for a {plane.size * 4 / MB:.0f} MB float32 plane")
    assert peak < 3 * plane.size * 4
