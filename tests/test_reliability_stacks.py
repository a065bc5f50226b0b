"""Stacks (issue 6, area 3): axes are never guessed; every plane of ZYX/TYX/CZYX is
processed in order with its metadata; the trained plane is recorded in the output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

import dualsr
from conftest import run_cli, textured
from dualsr.errors import DualSRInputError
from dualsr.io.axes import Layout, default_axes
from plugin_helpers import APPLY, TINY, TRAIN, open_widget

FAST = ["--iterations", "2"]


def binned(image: np.ndarray) -> np.ndarray:
    """2x2 means of the last two axes: an x2 result brought back to the input's grid."""
    h, w = image.shape[-2:]
    return image.reshape(*image.shape[:-2], h // 2, 2, w // 2, 2).mean(axis=(-3, -1))


def assert_planes_in_order(sr: np.ndarray, stack: np.ndarray) -> None:
    """Each output plane is closest to its own input plane: nothing reordered or mixed."""
    flat_sr = binned(sr.astype(np.float64)).reshape(-1, *stack.shape[-2:])
    flat_in = stack.astype(np.float64).reshape(-1, *stack.shape[-2:])
    for i, plane in enumerate(flat_sr):
        similarity = [np.corrcoef(plane.ravel(), other.ravel())[0, 1] for other in flat_in]
        assert int(np.argmax(similarity)) == i, (i, similarity)


def distinct_planes(shape: tuple[int, ...], size=(96, 100)) -> np.ndarray:
    """A stack whose planes differ in texture and level, so a swap would show."""
    n = int(np.prod(shape))
    planes = [textured(size, seed=s) * (1 + s) for s in range(n)]
    return np.stack(planes).reshape(*shape, *size).astype(np.float32)


@pytest.mark.parametrize("axes, shape", [("ZYX", (3,)), ("TYX", (4,)), ("CZYX", (2, 3)), ("TZYX", (2, 2))])
def test_every_plane_is_processed_in_order(axes, shape, tiny_config):
    stack = distinct_planes(shape)
    r = dualsr.train(stack, axes=axes, config=tiny_config.with_(iterations=2), plane=0)
    assert r.image.shape == (*shape, 192, 200) and r.axes == axes and r.plane == 0
    assert_planes_in_order(r.image, stack)


def test_an_imagej_zcyx_tiff_keeps_its_axes_labels_and_records_the_trained_plane(tmp_path, capsys):
    stack = (distinct_planes((3, 2), size=(150, 150)) * 8000).astype(np.uint16)
    src, out = tmp_path / "zcyx.tif", tmp_path / "x2.tif"
    labels = [f"z{z}-{c}" for z in range(3) for c in ("dapi", "gfp")]
    tifffile.imwrite(src, stack, imagej=True, metadata={"axes": "ZCYX", "Labels": labels, "spacing": 0.7})
    code, _, err = run_cli(["train", src, "-o", out, *FAST, "--preset", "fast", "--plane", "2"], capsys)
    assert code == 0, err
    with tifffile.TiffFile(out) as tif:
        sr, ij = tif.asarray(), tif.imagej_metadata
        assert tif.series[0].axes == "ZCYX"
    assert sr.shape == (3, 2, 300, 300) and sr.dtype == np.uint16
    assert list(ij["Labels"]) == labels and ij["spacing"] == 0.7
    info = json.loads(ij["Info"])
    assert info["plane"] == 2 and info["axes"] == "ZCYX"
    assert_planes_in_order(sr, stack)


def test_stack_trains_one_plane_and_applies_to_all(texture, tiny_config):
    stack = np.stack([texture, texture * 0.5, texture[::-1]]).astype(np.float32)
    r = dualsr.train(stack, axes="ZYX", config=tiny_config, plane=2)
    assert r.image.shape == (3, 384, 400) and r.plane == 2
    # the middle plane is half the first one: a single normalisation keeps that relation
    assert np.allclose(r.image[1].mean() * 2, r.image[0].mean(), rtol=0.05)


def test_independent_channels_give_one_kernel_each(texture, tiny_config):
    two = np.stack([texture, texture[:, ::-1]]).astype(np.float32)
    r = dualsr.train(two, axes="CYX", config=tiny_config)
    assert r.kernel.shape == (2, 13, 13)
    assert r.upsampler.groups == [[0], [1]] and len(r.history) == 2


def test_stack_with_axes_and_plane(tmp_path, texture, capsys):
    src = tmp_path / "stack.npy"
    np.save(src, np.stack([texture, texture * 2]).astype(np.float32))
    out = tmp_path / "stack_x2.npy"
    code, _, err = run_cli(["train", src, "-o", out, *FAST, "--axes", "ZYX", "--plane", "1"], capsys)
    assert code == 0, err
    assert np.load(out).shape == (2, 384, 400)


def test_axes_are_never_guessed_silently():
    assert default_axes((10, 10)) == "YX"
    assert default_axes((10, 10, 3)) == "YXC"
    with pytest.raises(DualSRInputError, match="--axes"):
        default_axes((5, 10, 10))
    for shape, axes, words in [
        ((10, 10), "YXZ", "name 3"),
        ((10, 10), "YY", "distinct"),
        ((10, 10, 2), "ZCY", "Y and X"),
        ((10,), None, "2 to 5"),
        ((2,) * 6, None, "2 to 5"),
    ]:
        with pytest.raises(DualSRInputError, match=words):
            Layout.of(shape, axes)


def test_plane_index():
    layout = Layout.of((3, 4, 10, 10), "TZYX")
    assert layout.plane_index(None) == 6
    assert layout.plane_index((1, 2)) == 6
    with pytest.raises(DualSRInputError, match="12 planes"):
        layout.plane_index(12)
    with pytest.raises(DualSRInputError, match="outside"):
        layout.plane_index((3, 0))


@pytest.mark.gui
@pytest.mark.usefixtures("single_torch_thread")
def test_stack_training_exports_onnx_and_the_apply_widget_reuses_it(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    data = np.stack([textured((96, 100), seed=s) for s in range(3)]).astype(np.float32)
    stack = viewer.add_image(data, name="stack", scale=(3.0, 0.5, 0.5), translate=(1.0, 0.0, 0.0))
    viewer.dims.set_current_step(0, 2)  # plane z=2 on screen
    train = open_widget(viewer, TRAIN)
    train.config_overrides = TINY
    train.iterations.value = 10
    train.onnx.value = tmp_path / "stack.onnx"
    assert train.axes.value == "ZYX" and train.planes.plane.value.startswith("Z=2")
    train.start()
    qtbot.waitUntil(lambda: not train.runner.running, timeout=120_000)

    sr, kernel = viewer.layers["stack ×2 (DualSR)"], viewer.layers["stack kernel (DualSR)"]
    assert sr.data.shape == (3, 192, 200) and np.allclose(sr.scale, (3.0, 0.25, 0.25))
    assert np.allclose(sr.translate, (1.0, -0.125, -0.125))
    assert sr.metadata["dualsr"]["plane"] == 2 and sr.metadata["dualsr"]["axes"] == "ZYX"
    assert sr.metadata["dualsr"]["onnx_path"] == str(tmp_path / "stack.onnx") == kernel.metadata["dualsr"]["onnx_path"]
    assert (tmp_path / "stack.onnx").is_file()

    apply = open_widget(viewer, APPLY)
    apply.model.value = tmp_path / "stack.onnx"
    apply.image.value = stack
    apply.tile.value = 64  # several tiles per plane
    apply.start()
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    again = viewer.layers[-1]
    assert again.name.startswith("stack ×2 (DualSR)") and again is not sr
    assert again.data.shape == sr.data.shape and again.data.dtype == np.float32
    assert np.allclose(again.scale, sr.scale) and np.allclose(again.translate, sr.translate)
    assert np.abs(again.data - sr.data).max() < 1e-3  # onnxruntime reproduces the torch result
    assert again.metadata["dualsr"]["onnx_path"] == str(tmp_path / "stack.onnx")
    assert "CPUExecutionProvider" in again.metadata["dualsr"]["providers"]
    assert np.array_equal(stack.data, data)

    count = len(viewer.layers)
    apply.start()
    apply.cancel_button.clicked.emit()  # cancelled before the first tile
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    assert len(viewer.layers) == count and apply.status.value == "cancelled"
