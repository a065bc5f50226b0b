"""ONNX export and the onnxruntime upsampler: real files, real sessions."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from conftest import textured
from dualsr.errors import DualSRInputError
from dualsr.runtime.onnx_runtime import OnnxUpsampler, _nvidia_driver_present


def test_export_is_checked_dynamic_and_self_describing(onnx_model):
    result, path = onnx_model("grey16")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, "height", "width"]
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["dualsr_format"] == "1" and meta["scale"] == "2" and meta["channels"] == "1"
    norm = json.loads(meta["normalization"])
    assert norm["mode"] == "percentile" and norm["dtype"] == "<u2" and norm["low"] == list(result.normalization.low)
    assert "undo" in norm and norm["percentiles"] == [0.1, 99.9]
    assert np.allclose(json.loads(meta["kernel"]), result.kernel, atol=1e-9)
    assert json.loads(meta["config"]) == result.config.to_dict() and meta["seed"] == "3"
    assert meta["trained_axes"] == "YX" and meta["dualsr_version"]


@pytest.mark.parametrize("kind", ["rgb8", "two"])
def test_onnx_matches_torch(onnx_model, kind):
    result, path = onnx_model(kind)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    c = len(result.upsampler.inverse)
    for shape in [(1, c, 37, 45), (3, c, 64, 80)]:
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        with torch.no_grad():
            expected = result.upsampler.cpu()(torch.from_numpy(x)).numpy()
        got = session.run(None, {"input": x})[0]
        assert got.shape == (shape[0], c, 2 * shape[2], 2 * shape[3])
        assert np.abs(got - expected).max() <= 1e-4


def test_runtime_equals_the_core_on_another_image(onnx_model):
    result, path = onnx_model("grey16")
    up = OnnxUpsampler(path, device="cpu")
    assert up.providers == ["CPUExecutionProvider"] and up.device == "cpu" and up.scale == 2
    other = (textured((80, 90), seed=9) * 30000 + 200).astype(np.uint16)
    got, expected = up.upsample(other), result.upsample(other)
    assert got.dtype == np.uint16 and got.shape == (160, 180)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # rounding only
    rgb_result, rgb_path = onnx_model("rgb8")
    rgb = (np.stack([textured((70, 64), seed=s) for s in (1, 2, 3)], -1) * 255).astype(np.uint8)
    got = OnnxUpsampler(rgb_path).upsample(rgb)
    assert got.dtype == np.uint8 and got.shape == (140, 128, 3)
    assert np.abs(got.astype(int) - rgb_result.upsample(rgb).astype(int)).max() <= 1


def test_dtypes_stacks_and_independent_channels(onnx_model):
    _, grey = onnx_model("grey16")
    up = OnnxUpsampler(grey)
    t = textured((48, 56), seed=4)
    for image in (t * 255, t * 60000, t * 3 - 1):
        for dtype in (np.uint8, np.uint16, np.float32):
            if np.issubdtype(dtype, np.integer) and image.min() < 0:
                continue
            out = up.upsample(image.astype(dtype))
            assert out.dtype == dtype and out.shape == (96, 112)
    stack = np.stack([t, t[::-1], t]).astype(np.float32)
    out = up.upsample(stack, axes="ZYX", tile=16)
    assert out.shape == (3, 96, 112) and np.array_equal(out[0], out[2]) and not np.allclose(out[0], out[1])
    two_result, two = onnx_model("two")
    channels = np.stack([t * 5, t[::-1] * 100]).astype(np.float32)
    got = OnnxUpsampler(two).upsample(channels, axes="CYX")
    assert np.abs(got - two_result.upsample(channels, axes="CYX")).max() <= 1e-3 * 100
    moved = OnnxUpsampler(two).upsample(np.moveaxis(channels, 0, -1), axes="YXC")
    assert np.allclose(np.moveaxis(moved, -1, 0), got, atol=1e-5)


@pytest.mark.skipif(_nvidia_driver_present(), reason="a GPU may be usable here")
def test_cuda_requested_without_a_gpu_is_a_clear_error(onnx_model):
    _, path = onnx_model("grey16")
    with pytest.raises(DualSRInputError, match="CUDA was requested"):
        OnnxUpsampler(path, device="cuda")
