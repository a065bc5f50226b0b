"""Block by block (``dualsr.inference.blocks``, ``dualsr.scale.batch``): equal to one-piece inference, bit for bit."""

from __future__ import annotations

import concurrent.futures as cf
import itertools

import numpy as np
import pytest

import dualsr.io.normalize
from conftest import textured
from dualsr.inference.blocks import InProcess, chunk_shape, plan
from dualsr.io.axes import Layout
from dualsr.io.normalize import _sample, strided_sample
from dualsr.io.zarr_io import prepare_output
from dualsr.runtime.onnx_runtime import OnnxUpsampler
from dualsr.scale.batch import ArrayJob, apply_array
from dualsr.scale.cluster import ModelSpec


@pytest.mark.parametrize("shape, step", [((7, 33, 41), 5), ((3, 100, 100), 7), ((50, 60), 1), ((2, 5, 4, 31), 13)])
def test_block_shares_of_the_sample_are_the_whole_arrays_sample(shape, step):
    data = np.random.default_rng(0).integers(0, 1000, shape)
    cuts = [np.array_split(np.arange(n), min(n, 3)) for n in shape]
    shares = []
    for parts in itertools.product(*cuts):
        box = tuple(slice(p[0], p[-1] + 1) for p in parts)
        shares.append(strided_sample(data[box], tuple(p[0] for p in parts), shape, step))
    assert np.array_equal(np.sort(np.concatenate(shares)), np.sort(data.reshape(-1)[::step]))
    if step == 1:
        assert np.array_equal(np.sort(np.concatenate(shares)), np.sort(_sample(data)))


def test_the_plane_on_screen_comes_first_and_each_block_has_its_own_chunk():
    layout = Layout.of((3, 2, 70, 50), "ZCYX")
    blocks = plan(layout, (32, 32), first=2)
    assert len(blocks) == 3 * 3 * 2 and {b.plane for b in blocks[:6]} == {(2,)}
    chunks = [b.chunk(layout, (32, 32)) for b in blocks]
    assert len(set(chunks)) == len(chunks) and chunk_shape(layout, (32, 32), 2) == (1, 2, 64, 64)
    assert blocks[-1].lr_slices(layout, 8) == (slice(1, 2), slice(None), slice(56, 70), slice(24, 50))


def blockwise(model_path, data, axes, tmp_path, size=(40, 48), first=None):
    """``data`` x2 block by block into a Zarr on a pool of threads, as the napari widget runs it."""
    model = OnnxUpsampler(model_path)
    layout = model.check_layout(data.shape, axes)
    chunks = chunk_shape(layout, size, model.scale)
    out = prepare_output(tmp_path / "x2.zarr", layout, data.dtype, model.scale, chunks, {"test": axes})
    job = ArrayJob(ModelSpec(str(model_path)), model, InProcess(data), layout, data.dtype, size, out, first)
    with cf.ThreadPoolExecutor(2) as pool:
        report = apply_array(pool, 4, job)
    import zarr

    return zarr.open_array(out.level0, mode="r")[:], report


@pytest.mark.parametrize(
    "kind, axes, make",
    [
        ("grey16", "ZYX", lambda t: np.stack([t * 50000, t[::-1] * 60000, t[:, ::-1] * 9]).astype(np.uint16)),
        ("two", "CYX", lambda t: np.stack([t * 5, t[:, ::-1] * 100]).astype(np.float32)),
        ("rgb8", "YXC", lambda t: (np.stack([t, t[::-1], t[:, ::-1]], -1) * 255).astype(np.uint8)),
    ],
)
def test_blocks_equal_one_piece_inference(onnx_model, tmp_path, monkeypatch, kind, axes, make):
    """Percentiles from a strided sample (forced here by a small cap), per channel, and the 8-bit range."""
    monkeypatch.setattr(dualsr.io.normalize, "_MAX_SAMPLES", 5000)
    _, model = onnx_model(kind)
    data = make(textured((90, 110), seed=4))
    got, report = blockwise(model, data, axes, tmp_path, first=0)
    expected = OnnxUpsampler(model).upsample(data, axes=axes)
    assert got.dtype == data.dtype and np.array_equal(got, expected)
    assert report.normalization.mode == ("dtype" if kind == "rgb8" else "percentile")
    again, report = blockwise(model, data, axes, tmp_path)  # the same output: everything is on disk already
    assert report.written == 0 and report.skipped == 9 * (3 if axes == "ZYX" else 1) and np.array_equal(again, got)


def test_nan_pixels_are_refused_before_any_block_is_written(onnx_model, tmp_path):
    _, model = onnx_model("grey16")
    data = textured((90, 110)).astype(np.float32)
    data[50, 60] = np.nan
    with pytest.raises(dualsr.DualSRInputError, match="1 NaN/Inf pixels"):
        blockwise(model, data, "YX", tmp_path)
    assert not list((tmp_path / "x2.zarr").rglob("c/*"))
