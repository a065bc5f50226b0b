"""The live preview and the bicubic baseline: exact, placed, and harmless to training."""

from __future__ import annotations

import numpy as np
import pytest

import dualsr
from conftest import one_thread, textured
from dualsr.errors import DualSRInputError
from dualsr.io.axes import Layout
from dualsr.paper.resize import bicubic_resize_np


def same_up_to_rounding(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal but for pixels one step apart where float32 rounding differs (at most 1 %). A region's pass
    convolves a crop, the final pass the whole plane: on some CPUs (AVX2-only oneDNN) the two shapes
    accumulate in another order, 4e-7 apart in float, which flips the rounding of a few integer pixels."""
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return a.shape == b.shape and int(d.max()) <= 1 and float(np.mean(d > 0)) <= 0.01


def previews_during(image, axes, config, calls, **kwargs):
    """Train, calling ``preview(**call)`` for each call at every report; (result, last previews)."""
    seen = {}

    def progress(info):
        for i, call in enumerate(calls):
            seen[i] = (info.step, info.preview(**call))

    with one_thread():
        result = dualsr.train(image, axes=axes, config=config, progress=progress, **kwargs)
    return result, seen


def test_the_last_preview_is_the_result_and_regions_are_exact(tiny_config):
    image = (textured((96, 100)) * 50000).astype(np.uint16)
    region = (10, 50, 30, 97)
    result, seen = previews_during(image, "YX", tiny_config, [{}, {"region": region}])
    (step, whole), (_, part) = seen[0], seen[1]
    assert step == tiny_config.iterations and whole.dtype == np.uint16
    assert np.array_equal(whole, result.image)  # the final pass, exactly
    assert same_up_to_rounding(part, whole[20:100, 60:194])  # a region: the same pixels, 8 px of context


def test_with_the_self_ensemble_the_last_preview_is_still_the_result():
    from dualsr.config import preset

    image = (textured((150, 160)) * 50000).astype(np.uint16)
    config = preset("fast", iterations=10, hr_crop=64, lr_crop=32)
    result, seen = previews_during(image, "YX", config, [{}, {"region": (10, 50, 30, 97)}])
    assert result.upsampler.ensemble
    assert np.array_equal(seen[0][1], result.image)
    assert same_up_to_rounding(seen[1][1], result.image[20:100, 60:194])


def test_previews_do_not_change_training(tiny_config):
    image = textured((96, 100)).astype(np.float32)
    with one_thread():
        plain = dualsr.train(image, axes="YX", config=tiny_config)
    previewed, _ = previews_during(image, "YX", tiny_config, [{}])
    assert np.array_equal(plain.image, previewed.image) and np.array_equal(plain.kernel, previewed.kernel)


@pytest.mark.parametrize(
    "axes, shape", [("ZCYX", (3, 2, 96, 100)), ("ZYXC", (2, 96, 100, 3)), ("CZYX", (2, 3, 96, 100))]
)
def test_a_preview_of_any_plane_lands_where_the_result_has_it(axes, shape, tiny_config):
    rng = np.random.default_rng(0)
    image = (rng.random(shape) * 200).astype(np.uint8)
    layout = Layout.of(shape, axes)
    plane, region = layout.planes - 1, (16, 48, 0, 40)
    config = tiny_config.with_(iterations=2)
    result, seen = previews_during(image, axes, config, [{"plane": plane, "region": region}], plane=0)
    _, preview = seen[0]
    assert same_up_to_rounding(result.image[layout.plane_key(plane, region, factor=2)], preview)


def test_a_region_outside_the_plane_is_refused(tiny_config):
    with pytest.raises(DualSRInputError, match="not inside"):
        previews_during(textured((96, 100)), "YX", tiny_config.with_(iterations=1), [{"region": (0, 97, 0, 10)}])


def test_bicubic_x2_is_matlab_bicubic_in_the_input_dtype():
    image = (textured((70, 90)) * 60000).astype(np.uint16)
    expected = np.clip(np.rint(bicubic_resize_np(image.astype(np.float64), 2.0)), 0, 65535)
    out = dualsr.bicubic_x2(image, tile=32)  # tiled: still exact
    assert out.dtype == np.uint16 and np.abs(out.astype(np.float64) - expected).max() <= 1
    stack = dualsr.bicubic_x2(np.stack([image, image[::-1]]), axes="ZYX")
    assert stack.shape == (2, 140, 180) and np.array_equal(stack[1], out[::-1])


def test_several_training_planes(tiny_config):
    stack = np.stack([textured((96, 100), seed=s) for s in range(4)]).astype(np.float32)
    config = tiny_config.with_(iterations=2)
    with one_thread():
        several = dualsr.train(stack, axes="ZYX", config=config, plane=[3, 1, 3])
        every = dualsr.train(stack, axes="ZYX", config=config, plane="all")
        one = dualsr.train(stack, axes="ZYX", config=config, plane=range(2, 3))
    assert several.plane == [3, 1] and several.summary()["plane"] == [3, 1] and every.plane == [0, 1, 2, 3]
    assert one.plane == 2 and several.image.shape == (4, 192, 200)
    for bad, match in (([], "empty"), ("some", "'all'"), ([0, 9], "does not exist")):
        with pytest.raises(DualSRInputError, match=match):
            dualsr.train(stack, axes="ZYX", config=config, plane=bad)
