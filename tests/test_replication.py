"""Nearest-neighbour enlargements found and undone (dualsr.io.replication), and the benchmark's moon."""

import numpy as np
import pytest

from dualsr.io.replication import native_grid, replication


def _native(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_an_enlargement_is_found_at_any_offset_and_undone(factor: int) -> None:
    native = _native((30, 40))
    enlarged = np.kron(native, np.ones((factor, factor), np.uint8))
    assert replication(enlarged) == (factor, (0, 0))
    shifted = enlarged[1:, 2:]  # a crop that starts inside a block
    f, (dy, dx) = replication(shifted)
    assert f == factor and (dy, dx) == ((factor - 1) % factor, (factor - 2) % factor)
    back = native_grid(shifted)
    np.testing.assert_array_equal(back, native[1 : 1 + back.shape[0], 1 : 1 + back.shape[1]])


def test_colour_blocks_must_hold_in_every_channel() -> None:
    rgb = np.repeat(np.repeat(_native((20, 20, 3)), 2, 0), 2, 1)
    assert replication(rgb)[0] == 2
    rgb[0, 1, 2] ^= 1  # one channel of one pixel breaks its block
    assert replication(rgb)[0] == 1


def test_ordinary_and_flat_images_are_left_alone() -> None:
    image = _native((64, 64))
    assert replication(image) == (1, (0, 0))
    assert native_grid(image) is not None and native_grid(image).shape == (64, 64)
    assert replication(np.zeros((64, 64), np.uint8)) == (1, (0, 0))  # a flat image is no enlargement
    smooth = np.add.outer(np.arange(64), np.arange(64)).astype(np.float32)
    assert replication(smooth) == (1, (0, 0))


def test_the_benchmark_moon_is_its_native_256_pixels() -> None:
    pytest.importorskip("skimage")
    from skimage import data

    from dualsr.evaluation.sets import skimage_image

    assert replication(data.moon()) == (2, (0, 0))  # scikit-image stores it at 512^2
    moon = skimage_image("moon")
    assert moon.shape == (256, 256) and replication(moon)[0] == 1
    np.testing.assert_array_equal(moon, data.moon()[::2, ::2])
    assert skimage_image("camera").shape == data.camera().shape  # the others as bundled


def test_training_on_an_enlargement_says_so(tmp_path, capsys) -> None:
    """The engine, the summary and the CLI name the enlargement and the image it was made from."""
    import tifffile

    import dualsr
    from conftest import run_cli

    native = (np.random.default_rng(1).random((90, 100)) * 200).astype(np.uint8)
    enlarged = np.kron(native, np.ones((2, 2), np.uint8))[1:, :]  # 179 x 200, blocks from row 1
    result = dualsr.train(enlarged, preset_name="fast", iterations=2)
    assert result.enlarged == {"factor": 2, "offset": [1, 0], "native_shape": [89, 100]}
    assert "2x nearest-neighbour enlargement of a 100x89 image" in result.enlargement_warning
    assert result.summary()["enlargement_warning"] == result.enlargement_warning
    plain = dualsr.train(np.tile(native.repeat(2, 0), (1, 2)), preset_name="fast", iterations=2)  # rows: not blocks
    assert plain.enlarged is None and plain.enlargement_warning == "" and "enlarged" not in plain.summary()

    source = tmp_path / "enlarged.tif"
    tifffile.imwrite(source, enlarged)
    code, _, err = run_cli(["train", source, "-o", tmp_path / "x2.tif", "--iterations", "2"], capsys)
    assert code == 0
    assert "dualsr: warning: the image is a 2x nearest-neighbour enlargement" in err
    assert np.array_equal(tifffile.imread(source), enlarged)  # the input file untouched


def test_a_small_image_trains_on_the_largest_patches_that_fit() -> None:
    """Below the paper's 148 px the patches shrink (a multiple of 4, both even), down to 64 px + border."""
    import dualsr
    from dualsr.config import MIN_HR_CROP, preset

    config = preset("fast")
    assert config.fitted(400) is config and config.min_image_size == MIN_HR_CROP + 2 * config.border_shave
    assert (config.fitted(128).hr_crop, config.fitted(128).lr_crop) == (108, 54)
    assert config.fitted(85).hr_crop == 64
    image = np.random.default_rng(2).random((100, 130)).astype(np.float32)
    result = dualsr.train(image, preset_name="fast", iterations=2)
    assert result.image.shape == (200, 260)
    assert (result.config.hr_crop, result.config.lr_crop) == (80, 40)  # reported as trained
    assert result.summary()["config"]["hr_crop"] == 80
