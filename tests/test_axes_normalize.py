import numpy as np
import pytest

from dualsr.io.axes import Layout
from dualsr.io.normalize import fit_normalization, to_dtype


@pytest.mark.parametrize(
    "shape, axes, planes, channels",
    [
        ((20, 30), "YX", 1, 1),
        ((20, 30, 3), "YXC", 1, 3),
        ((4, 20, 30), "ZYX", 4, 1),
        ((2, 20, 30), "CYX", 1, 2),
        ((3, 5, 2, 20, 30), "TZCYX", 15, 2),
        ((20, 2, 30), "YCX", 1, 2),
    ],
)
def test_layout_round_trip(shape, axes, planes, channels):
    data = np.random.default_rng(0).random(shape)
    layout = Layout.of(shape, axes)
    canon = layout.canonical(data)
    assert canon.shape == (planes, channels, 20, 30)
    up = np.repeat(np.repeat(canon, 2, axis=2), 2, axis=3)
    restored = layout.restore(up)
    assert restored.shape == layout.scaled_shape(2)
    assert np.array_equal(layout.restore(canon), data)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_normalisation_round_trip(dtype):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        data = rng.integers(max(info.min, -1000), min(info.max, 5000), (40, 50)).astype(dtype)
    else:
        data = (rng.normal(100, 30, (40, 50))).astype(dtype)
    norm = fit_normalization(data)
    x = norm.apply(data)
    assert x.dtype == np.float32
    assert np.percentile(x, 50) > 0.2 and np.percentile(x, 50) < 0.8
    back = norm.invert(x)
    assert back.dtype == data.dtype
    tol = 0 if np.issubdtype(dtype, np.integer) else 1e-3
    assert np.allclose(back.astype(np.float64), data.astype(np.float64), atol=tol)


def test_uint8_uses_the_dtype_range_and_per_channel_percentiles():
    data = np.full((10, 10), 51, np.uint8)
    assert fit_normalization(data).apply(data)[0, 0] == pytest.approx(0.2)
    two = np.stack([np.arange(100.0).reshape(10, 10), 1000 + np.arange(100.0).reshape(10, 10) * 10])
    norm = fit_normalization(two, channel_axis=0)
    x = norm.apply(two, channel_axis=0)
    assert np.allclose(x.mean(axis=(1, 2)), x.mean(), atol=0.01)
    const = fit_normalization(np.full((5, 5), 7.0))
    assert np.allclose(const.invert(const.apply(np.full((5, 5), 7.0))), 7.0)


def test_to_dtype_clips_and_rounds():
    assert to_dtype(np.array([-3.0, 2.6, 300.0]), np.dtype(np.uint8)).tolist() == [0, 3, 255]
