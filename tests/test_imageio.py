"""Files in and out: formats, metadata carried over, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from dualsr.errors import DualSRInputError
from dualsr.imageio import ImageFile, read_image, write_image


@pytest.mark.parametrize("dtype, channels", [(np.uint8, 1), (np.uint16, 1), (np.uint8, 3), (np.uint8, 4)])
def test_png_round_trip_keeps_bit_depth(tmp_path, dtype, channels):
    rng = np.random.default_rng(0)
    shape = (20, 30) if channels == 1 else (20, 30, channels)
    data = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    path = write_image(tmp_path / "a.png", ImageFile(data, "YX" if channels == 1 else "YXC"))
    back = read_image(path)
    assert back.data.dtype == dtype and np.array_equal(back.data, data)
    assert back.axes == ("YX" if channels == 1 else "YXC")


def test_imagej_stack_keeps_axes_unit_spacing_and_labels(tmp_path):
    data = np.arange(2 * 3 * 16 * 20, dtype=np.uint16).reshape(2, 3, 16, 20)
    src = tmp_path / "in.tif"
    tifffile.imwrite(
        src,
        data,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.25),
        metadata={"axes": "ZCYX", "unit": "um", "spacing": 2.0, "Labels": ["a", "b", "c"] * 2},
    )
    image = read_image(src)
    assert image.axes == "ZCYX" and image.unit == "um"
    assert image.pixel_size == pytest.approx((0.25, 0.5))
    assert image.extra["spacing"] == 2.0
    out = write_image(tmp_path / "out.tif", ImageFile(data, image.axes, image.pixel_size, image.unit, image.extra))
    again = read_image(out)
    assert again.axes == "ZCYX" and again.unit == "um" and again.extra["spacing"] == 2.0
    assert again.pixel_size == pytest.approx((0.25, 0.5))
    assert list(again.extra["Labels"]) == ["a", "b", "c"] * 2
    assert np.array_equal(again.data, data)


def test_float64_and_int32_tiffs_round_trip_without_imagej(tmp_path):
    for data in (np.linspace(-1, 1, 600).reshape(20, 30), np.arange(600, dtype=np.int32).reshape(20, 30)):
        out = write_image(tmp_path / "x.tif", ImageFile(data, "YX"))
        back = read_image(out)
        assert back.data.dtype == data.dtype and np.array_equal(back.data, data)


def test_png_refuses_what_it_cannot_hold_and_leaves_nothing(tmp_path):
    with pytest.raises(DualSRInputError, match="write .tif"):
        write_image(tmp_path / "a.png", ImageFile(np.zeros((4, 10, 10), np.uint8), "ZYX"))
    with pytest.raises(DualSRInputError, match="8-bit"):
        write_image(tmp_path / "a.jpg", ImageFile(np.zeros((10, 10), np.uint16), "YX"))
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_leaves_no_partial_file(tmp_path):
    class Boom(Exception):
        pass

    from dualsr.imageio import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(tmp_path / "out.tif", write)
    assert list(tmp_path.iterdir()) == []
