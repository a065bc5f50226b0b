"""Bad input, clear answer (issue 6, area 1): API, CLI and both widgets.

Every refused input gets one line naming the problem and the fix, and nothing is left
on disk or in the viewer; accepted oddities (constant, negative, RGBA) come back right.
Property-based checks (hypothesis) cover normalisation, tiling and the dtype round trip
over shapes, dtypes and value ranges. The table in docs/reliability.md lists each case.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import tifffile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from napari.layers import Image, Labels
from napari.utils.notifications import notification_manager
from PIL import Image as PILImage

import dualsr
from conftest import cli_fails, imagej_tif, run_cli, textured
from dualsr.errors import DualSRInputError
from dualsr.inference.tiling import tiled_upsample
from dualsr.io.axes import Layout
from dualsr.io.normalize import fit_normalization
from dualsr.paper.networks import GeneratorUp
from dualsr.runtime.onnx_runtime import OnnxUpsampler
from napari_dualsr._jobs import source_of
from plugin_helpers import APPLY, TINY, TRAIN, errors_since, open_widget

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


# --- the API ---


def test_rgba_alpha_is_kept_aside(texture, tiny_config):
    rgba = np.zeros((192, 200, 4), np.uint8)
    rgba[..., :3] = (texture[..., None] * 255).astype(np.uint8)
    rgba[..., 3] = 255
    rgba[:50, :, 3] = 0
    r = dualsr.train(rgba, config=tiny_config)
    assert r.image.shape == (384, 400, 4)
    assert r.upsampler.groups == [[0, 1, 2]] and r.upsampler.alpha == 3
    assert (r.image[:90, :, 3] == 0).all() and (r.image[110:, :, 3] == 255).all()


@pytest.mark.parametrize(
    "image, kwargs, words",
    [
        (np.zeros((0, 10)), {}, "empty"),
        (np.zeros((200, 200), bool), {}, "bool"),
        (np.zeros((200, 200), complex), {}, "complex"),
        (np.full((200, 200), np.nan), {}, "NaN"),
        (np.full((200, 200), -np.inf), {}, "NaN/Inf"),
        (np.zeros((2,) * 4 + (200, 200)), {}, "2 to 5"),
        (np.zeros((80, 300)), {}, "at least"),
        (np.zeros(300), {}, "2 to 5"),
        (np.zeros((4, 200, 200)), {}, "--axes"),
        (np.zeros((200, 200)), {"device": "cuda:7"}, "CUDA"),
        (np.zeros((200, 200)), {"channel_mode": "mixed"}, "channel mode"),
        (np.zeros((2, 200, 200)), {"axes": "ZYX", "plane": 5}, "does not exist"),
    ],
)
def test_bad_input_is_one_clear_error(image, kwargs, words, tiny_config):
    import torch

    if kwargs.get("device", "").startswith("cuda") and torch.cuda.is_available():
        pytest.skip("CUDA present")
    cfg = tiny_config.with_(hr_crop=128, lr_crop=64)
    with pytest.raises(DualSRInputError, match=words):
        dualsr.train(image, config=cfg, **kwargs)


@pytest.mark.parametrize("value", [0, 7, -3.5, 65535])
def test_constant_images_give_a_constant_result(value, tiny_config):
    dtype = np.uint16 if value == 65535 else np.float32
    r = dualsr.train(np.full((100, 100), value, dtype), config=tiny_config.with_(iterations=2))
    assert r.image.dtype == dtype and np.all(r.image == value)


def test_negative_values_keep_their_range_and_sign(texture, tiny_config):
    signed = (texture * 2000 - 1500).astype(np.int16)
    r = dualsr.train(signed, config=tiny_config.with_(iterations=2))
    assert r.image.dtype == np.int16 and r.image.min() < -1000 and r.image.max() > 400
    assert abs(float(r.image.mean()) - float(signed.mean())) < 0.1 * float(np.ptp(signed))


def _foreign_model(path, channels=1, metadata=None):
    model = GeneratorUp(channels, 2, 4).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, channels, 16, 16),),
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}},
        )
    proto = onnx.load_model_from_string(buffer.getvalue())
    for key, value in (metadata or {}).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, path)
    return path


def test_foreign_models_are_refused_unless_allowed(tmp_path):
    path = _foreign_model(tmp_path / "other.onnx")
    with pytest.raises(DualSRInputError, match="no dualsr metadata.*allow_foreign"):
        OnnxUpsampler(path)
    up = OnnxUpsampler(path, allow_foreign=True)
    assert up.foreign and up.scale == 2 and up.kernel is None
    out = up.upsample((textured((40, 30)) * 255).astype(np.uint8))
    assert out.shape == (80, 60) and out.dtype == np.uint8
    newer = _foreign_model(tmp_path / "newer.onnx", metadata={"dualsr_format": "99", "scale": "2", "channels": "1"})
    with pytest.raises(DualSRInputError, match="newer"):
        OnnxUpsampler(newer)


def test_bad_files_and_inputs_say_what_to_do(tmp_path, onnx_model):
    with pytest.raises(DualSRInputError, match="no such model file"):
        OnnxUpsampler(tmp_path / "missing.onnx")
    _, path = onnx_model("grey16")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DualSRInputError, match="not a readable ONNX model"):
        OnnxUpsampler(truncated)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a model" * 10)
    with pytest.raises(DualSRInputError, match="not a readable ONNX model"):
        OnnxUpsampler(garbage)
    with pytest.raises(DualSRInputError, match="unknown device"):
        OnnxUpsampler(path, device="tpu")
    up = OnnxUpsampler(path)
    rgb = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(DualSRInputError, match="takes 1-channel images but this image has 3"):
        up.upsample(rgb)
    for bad in (np.zeros((40, 40), bool), np.zeros((40, 40), complex)):
        with pytest.raises(DualSRInputError, match="not supported"):
            up.upsample(bad)
    with pytest.raises(DualSRInputError, match="tile 4 is too small"):
        up.upsample(np.zeros((40, 40), np.float32), tile=4)


# --- the CLI ---


def _npy(path: Path, data: np.ndarray) -> Path:
    np.save(path, data)
    return path


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write to: a 0555 folder, or for root (who may write
    there anyway) /proc/sys, which the kernel keeps read-only even for root."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return folder
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("no folder here is read-only for this user")
    return Path("/proc/sys")


def _errors(tmp_path, grey16):
    src, _ = grey16
    z = np.zeros((200, 200), np.float32)
    nan, inf = z.copy(), z.copy()
    nan[5, 5], inf[7, 7] = np.nan, np.inf
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(src.read_bytes()[:300])
    png = tmp_path / "in.png"
    PILImage.fromarray((z + 9).astype(np.uint8)).save(png)
    cut_png = tmp_path / "cut.png"
    cut_png.write_bytes(png.read_bytes()[:60])
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"II*\x00 not really a tiff" * 4)
    notimg = tmp_path / "notes.txt"
    notimg.write_text("hello")
    stack = _npy(tmp_path / "stack.npy", np.zeros((3, 200, 200), np.float32))
    out = tmp_path / "out.tif"
    return [
        (["train", tmp_path / "missing.tif", "-o", out], "no such file"),
        (["train", notimg, "-o", out], "unsupported file type"),
        (["train", truncated, "-o", out], "cannot read"),
        (["train", garbage, "-o", out], "cannot read"),
        (["train", cut_png, "-o", out], "cannot read"),
        (["train", src, "-o", tmp_path / "nodir" / "o.tif"], "does not exist"),
        (["train", src, "-o", src], "overwrite"),
        (["train", src, "-o", tmp_path / "o.bmp"], "unsupported file type"),
        (["train", src, "-o", tmp_path], "unsupported file type"),
        (["train", _npy(tmp_path / "empty.npy", np.zeros((0, 200))), "-o", out], "empty"),
        (["train", _npy(tmp_path / "line.npy", np.zeros(300)), "-o", out], "2 to 5"),
        (["train", _npy(tmp_path / "6d.npy", np.zeros((2,) * 4 + (200, 200))), "-o", out], "2 to 5"),
        (["train", _npy(tmp_path / "small.npy", z[:80, :80]), "-o", out], "at least 84x84"),
        (["train", _npy(tmp_path / "nan.npy", nan), "-o", out], "NaN"),
        (["train", _npy(tmp_path / "inf.npy", inf), "-o", out], "NaN/Inf"),
        (["train", _npy(tmp_path / "bool.npy", z > 0), "-o", out], "dtype bool"),
        (["train", _npy(tmp_path / "complex.npy", z.astype(complex)), "-o", out], "dtype complex128"),
        (["train", stack, "-o", out], "--axes"),
        (["train", stack, "-o", out, "--axes", "ZYXC"], "name 4 dimensions"),
        (["train", stack, "-o", out, "--axes", "ZYX", "--plane", "7"], "does not exist"),
        (["train", src, "-o", out, "--scale", "3"], "scale 3"),
        (["train", src, "-o", out, "--iterations", "0"], "at least 1"),
        (["train", src, "-o", out, "--known-kernel", _npy(tmp_path / "k3d.npy", np.zeros((3, 3, 3)))], "2D"),
        (["train", src, "-o", out, "--kernel-out", tmp_path / "k.png"], "unsupported file type"),
        (["train", src, "-o", out, "--history-out", tmp_path / "h.txt"], "unsupported file type"),
        (["demo", "-o", src], "not a folder"),
    ] + ([] if torch.cuda.is_available() else [(["train", src, "-o", out, "--device", "cuda"], "no CUDA device")])


def test_every_error_is_one_line_exit_2_and_writes_nothing(tmp_path, grey16, capsys):
    for args, words in _errors(tmp_path, grey16):
        before = set(tmp_path.rglob("*"))
        code, stdout, err = run_cli(args, capsys)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert words in err, (words, err)
        assert "Traceback" not in err
        assert set(tmp_path.rglob("*")) == before, args


def test_a_read_only_output_folder_is_refused_before_training(tmp_path, grey16, onnx_model, capsys):
    src, _ = grey16
    _, model = onnx_model("grey16")
    folder = read_only_folder(tmp_path)
    for argv in (["train", src, "-o", folder / "o.tif"], ["apply", model, src, "-o", folder / "o.tif"]):
        cli_fails(capsys, argv, folder / "o.tif", "is not writable; choose another output")
    onnx_out = ["train", src, "-o", tmp_path / "o.tif", "--onnx", folder / "m.onnx"]
    cli_fails(capsys, onnx_out, tmp_path / "o.tif", "is not writable")


def test_apply_errors_exit_2_with_one_line_and_write_nothing(tmp_path, onnx_model, capsys):
    _, model = onnx_model("grey16")
    grey = imagej_tif(tmp_path / "grey.tif", np.zeros((40, 40), np.uint16))
    out = tmp_path / "out.tif"
    cli_fails(capsys, ["apply", tmp_path / "none.onnx", grey, "-o", out], out, "no such model file")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(model.read_bytes()[:3000])
    cli_fails(capsys, ["apply", broken, grey, "-o", out], out, "not a readable ONNX model")
    foreign = onnx.load(model)
    del foreign.metadata_props[:]
    onnx.save(foreign, tmp_path / "foreign.onnx")
    cli_fails(capsys, ["apply", tmp_path / "foreign.onnx", grey, "-o", out], out, "--allow-foreign")
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((40, 40, 3), np.uint8), photometric="rgb")
    cli_fails(capsys, ["apply", model, rgb, "-o", out], out, "takes 1-channel images")
    np.save(tmp_path / "complex.npy", np.zeros((40, 40), complex))
    cli_fails(capsys, ["apply", model, tmp_path / "complex.npy", "-o", out], out, "not supported")
    cli_fails(capsys, ["apply", model, tmp_path / "none.tif", "-o", out], out, "no such file")
    nan = _npy(tmp_path / "nan.npy", np.full((40, 40), np.nan, np.float32))
    cli_fails(capsys, ["apply", model, nan, "-o", out], out, "NaN")
    nowhere = tmp_path / "no" / "o.tif"
    cli_fails(capsys, ["apply", model, grey, "-o", nowhere], nowhere, "does not exist")
    cli_fails(capsys, ["apply", model, grey, "-o", grey], grey.with_name("never"), "overwrite an input")


# --- the widgets ---


@pytest.mark.parametrize(
    "layer, message",
    [
        (None, "no image layer"),
        (Labels(np.zeros((64, 64), dtype=np.uint8), name="mask"), "Labels layer"),
        (Image(np.zeros((2, 2, 2, 2, 2, 2))), "is 6D"),
    ],
)
def test_source_of_rejects_what_dualsr_cannot_use(layer, message):
    with pytest.raises(DualSRInputError, match=message):
        source_of(layer)


def test_bad_input_gives_a_notification_and_changes_nothing(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = open_widget(viewer, TRAIN)
    start = len(notification_manager.records)
    widget.start()  # no layer at all
    viewer.add_labels(np.zeros((200, 200), dtype=np.uint8), name="mask")
    widget.start()  # only a labels layer: not offered as an image
    small = viewer.add_image(np.ones((80, 80), dtype=np.uint16), name="small")
    widget.image.value = small
    widget.start()  # smaller than the 84 px minimum (64 px patches + border): found by the core, on the worker
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    errors = errors_since(start)
    assert len(errors) == 3, errors
    assert "no image layer" in errors[0] and "no image layer" in errors[1]
    assert "at least 84x84" in errors[2]
    assert [lay.name for lay in viewer.layers] == ["mask", "small"]
    assert np.all(small.data == 1)


def test_a_line_profile_is_refused(make_napari_viewer, qtbot):
    """napari itself refuses 1D image layers; the closest a user gets is a 1-pixel-high image."""
    viewer = make_napari_viewer()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        viewer.add_image(np.linspace(0, 1, 300))
    line = viewer.add_image(np.linspace(0, 1, 300)[None], name="profile")
    widget = open_widget(viewer, TRAIN)
    start = len(notification_manager.records)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    assert "1x300 pixels" in errors_since(start)[0]
    assert [lay.name for lay in viewer.layers] == ["profile"] and line.data.shape == (1, 300)


def test_a_broken_onnx_file_gives_a_notification(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image = viewer.add_image(textured((64, 64)), name="img")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx model")
    apply = open_widget(viewer, APPLY)
    start = len(notification_manager.records)
    apply.start()  # no model chosen yet
    apply.model.value = broken
    apply.start()
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    errors = errors_since(start)
    assert len(errors) == 2 and "choose an .onnx model" in errors[0] and "broken.onnx" in errors[1]
    assert [lay.name for lay in viewer.layers] == ["img"] and image.data.shape == (64, 64)


def _start_and_wait(widget, qtbot) -> None:
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)


@pytest.mark.gui
def test_bad_layers_and_files_in_the_train_widget(make_napari_viewer, qtbot, tmp_path, single_torch_thread):
    """Each bad layer or file: one error notification, no layer added, the input untouched."""
    viewer = make_napari_viewer()
    nan = np.zeros((200, 200), np.float32)
    nan[3, 3] = np.nan
    cases = [
        (nan, {}, "NaN"),
        (np.where(nan == 0, np.inf, 0).astype(np.float32), {}, "NaN/Inf"),
        (np.zeros((200, 200), bool), {}, "dtype bool"),
        (np.zeros((2,) * 4 + (200, 200), np.float32), {}, "is 6D"),
        (np.zeros((200, 200), np.float32), {"kernel_file": _cut_file(tmp_path / "psf.tif")}, "cannot read"),
        (np.zeros((200, 200), np.float32), {"onnx": tmp_path / "no" / "m.onnx"}, "does not exist"),
        (np.zeros((200, 200), np.float32), {"onnx": read_only_folder(tmp_path) / "m.onnx"}, "is not writable"),
    ]
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 2
    statuses = set()
    for i, (data, form, words) in enumerate(cases):
        layer = viewer.add_image(data, name=f"bad{i}")
        widget.image.value = layer
        widget.kernel_file.value, widget.onnx.value = form.get("kernel_file"), form.get("onnx")
        start = len(notification_manager.records)
        _start_and_wait(widget, qtbot)
        errors = errors_since(start)
        assert len(errors) == 1 and words in errors[0], (words, errors)
        assert np.array_equal(layer.data, data, equal_nan=data.dtype.kind == "f")
        assert widget.status.value in ("failed", "not started")  # refused by the run, or by the form
        assert words in widget.verdict.value  # the why stays after the notification fades
        statuses.add(widget.status.value)
    assert statuses == {"failed", "not started"}  # both kinds were among them
    assert [lay.name for lay in viewer.layers] == [f"bad{i}" for i in range(len(cases))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["psf.tif", "read-only"]


def _cut_file(path: Path) -> Path:
    """A TIFF cut short, as an interrupted copy leaves it."""
    tifffile.imwrite(path, np.ones((13, 13), np.float32))
    path.write_bytes(path.read_bytes()[:100])
    return path


@pytest.mark.gui
def test_wrong_models_in_the_apply_widget(make_napari_viewer, qtbot, tmp_path, onnx_model):
    """A model for another channel count and one not exported by dualsr: a notification each."""
    viewer = make_napari_viewer()
    image = viewer.add_image(textured((64, 64)), name="img")
    _, rgb_model = onnx_model("rgb8")
    apply = open_widget(viewer, APPLY)
    start = len(notification_manager.records)
    reasons = []
    for model in (rgb_model, _foreign_model(tmp_path / "other.onnx")):
        apply.model.value = model
        _start_and_wait(apply, qtbot)
        reasons.append((apply.status.value, apply.reason.value))  # the why stays after the notification fades
    errors = errors_since(start)
    assert len(errors) == 2, errors
    assert "takes 3-channel images but this image has 1" in errors[0] and "no dualsr metadata" in errors[1]
    assert [r for _, r in reasons] == [e.removeprefix("DualSR: ") for e in errors]
    assert all(status in ("failed", "not started") for status, _ in reasons)
    assert [lay.name for lay in viewer.layers] == ["img"] and image.data.shape == (64, 64)
