"""Property-based checks (hypothesis) of normalisation, tiling and the dtype round trip."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dualsr.axes import Layout
from dualsr.networks import GeneratorUp
from dualsr.normalize import fit_normalization
from dualsr.tiling import tiled_upsample

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64])


@st.composite
def images(draw):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(st.tuples(st.integers(1, 12), st.integers(1, 12)))
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -(2**20)), min(info.max, 2**20))
    else:
        elements = st.floats(-1e6, 1e6, allow_nan=False, width=32)
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=60, deadline=None)
@given(images(), st.sampled_from(["auto", "percentile"]))
def test_normalise_then_invert_gives_the_input_back(image, mode):
    norm = fit_normalization(image, mode)
    x = norm.apply(image)
    assert x.dtype == np.float32 and np.isfinite(x).all()
    back = norm.invert(x)
    assert back.dtype == image.dtype and back.shape == image.shape
    span = float(np.max(norm.high) - np.min(norm.low))
    tol = 1 if image.dtype.kind in "ui" else 1e-5 * max(1.0, float(np.abs(image).max()), span)
    assert np.abs(back.astype(np.float64) - image.astype(np.float64)).max() <= tol


@settings(max_examples=60, deadline=None)
@given(images())
def test_integer_results_stay_in_range(image):
    norm = fit_normalization(image)
    wild = np.linspace(-5, 5, image.size, dtype=np.float32).reshape(image.shape)
    out = norm.invert(wild)
    assert out.dtype == image.dtype
    if image.dtype.kind in "ui":
        info = np.iinfo(image.dtype)
        assert out.min() >= info.min and out.max() <= info.max


_MODEL = GeneratorUp(channels=2, layers=8, features=4).eval()


def _up(batch: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return _MODEL(torch.from_numpy(batch)).numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(9, 40), st.integers(9, 40), st.integers(9, 24), st.integers(1, 2))
def test_tiled_equals_untiled(h, w, tile, planes):
    data = np.random.default_rng(h * 100 + w).random((planes, 2, h, w), dtype=np.float32)
    whole = tiled_upsample(_up, data, tile=None)
    tiled = tiled_upsample(_up, data, tile=tile)
    assert np.abs(whole - tiled).max() <= 1e-5


@settings(max_examples=40, deadline=None)
@given(st.permutations("TZCYX"), st.lists(st.integers(1, 3), min_size=5, max_size=5))
def test_any_axis_order_round_trips(order, sizes):
    axes = "".join(order)
    shape = tuple(sizes)
    data = np.arange(np.prod(shape)).reshape(shape)
    layout = Layout.of(shape, axes)
    assert np.array_equal(layout.restore(layout.canonical(data)), data)
