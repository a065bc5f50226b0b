"""Trust: the decorrelation resolution, the doubt map and the verdict, through the API, the CLI,
the ONNX and TIFF files and the viewer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from conftest import _onnx_image, imagej_tif, run_cli, textured
from dualsr.io.axes import Layout
from dualsr.trust.doubt import DOUBT_LEVEL, doubt_map, in_doubt
from dualsr.trust.readout import gained, plane_resolution, readout, verdict
from dualsr.trust.resolution import decorrelation
from plugin_helpers import APPLY, open_widget

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "studies" / "trust"))
from decorrelation_reference import band_limited  # noqa: E402  (noise with a known resolution: 2 / kc px)


@pytest.mark.parametrize("kc", [0.3, 0.5, 0.8])
def test_decorrelation_finds_the_band_limit_of_band_limited_noise(kc):
    """The ground truth a reference implementation is checked against (within 5 %); above half Nyquist
    too, where implementations that cap the refinement there would stop."""
    found = decorrelation(band_limited(256, kc)).kc
    assert found == pytest.approx(kc, rel=0.05)


def test_the_refinement_follows_the_authors_code():
    """The second pass brackets the first pass's best filter as Descloux's getDcorr.m (v1.1.8) does: with
    the next filter, with the widest where the unfiltered curve won, with the one before at the end; its
    radii reach 0.4 above the best kc (docs/trust.md: ours and theirs agree exactly on band-limited noise)."""
    from dualsr.trust.resolution import REFINE_REACH, _refined

    sigmas = np.exp(np.linspace(np.log(100.0), np.log(0.15), 11))
    r = np.linspace(0, 1, 50)
    middle, radii = _refined(sigmas, [0.1, 0.2, 0.5, 0.3] + [0.0] * 8, r, side=511)
    assert np.allclose(middle[[0, -1]], sigmas[[1, 2]]) and len(middle) == 10
    assert radii[0] == pytest.approx(0.5 - r[1]) and radii[-1] == pytest.approx(0.5 + REFINE_REACH)
    unfiltered, _ = _refined(sigmas, [0.6] + [0.1] * 11, r, side=511)
    assert np.allclose(unfiltered[[0, -1]], [511.0, sigmas[0]])
    last, radii = _refined(sigmas, [0.1] * 11 + [0.9], r, side=511)
    assert np.allclose(last[[0, -1]], sigmas[[9, 10]]) and radii[-1] == 1.0


def test_interpolation_gains_no_resolution_and_detail_keeps_its_own():
    """Bicubic of a sharp input reads far above the input's Nyquist (0.5 on the x2 grid) to a faithful
    decorrelation, its spectral images taken for structure; cleared of them it reads no more than the
    input holds. Detail no linear interpolator explains (the band-limited original of a blurred input)
    keeps its resolution."""
    from scipy.ndimage import gaussian_filter

    from dualsr.paper.resize import bicubic_resize_np
    from dualsr.trust.resolution import deimaged

    sharp = band_limited(192, 0.95)
    bicubic = bicubic_resize_np(sharp, 2.0)
    assert decorrelation(bicubic).kc > 0.7 and decorrelation(deimaged(sharp, bicubic)).kc < 0.52
    measured = readout(sharp, bicubic)
    assert measured["x2_kc"] < 0.52 and "(not gained;" in verdict(measured)
    assert measured["interpolation_kc"] == pytest.approx(0.95 / 2, rel=0.05)  # the LR's band, on the x2 grid
    floor = {"interpolation_kc": 0.6, "interpolation": 1 / 0.6}  # bicubic reads finer than the input (0.48)
    finer_than_the_input_only = {**measured, **floor, "x2_kc": 0.98 * 0.6 / 0.95, "x2": 0.95 / 0.98 / 0.6}
    assert not gained(finer_than_the_input_only)
    assert f"(not gained: no finer than bicubic's {floor['interpolation']:.2f} px; SNR" in verdict(
        finer_than_the_input_only
    )
    original = band_limited(384, 0.8, seed=2)
    assert decorrelation(deimaged(gaussian_filter(original, 1.0)[::2, ::2], original)).kc == pytest.approx(
        0.8, rel=0.05
    )
    with pytest.raises(ValueError, match="twice"):
        deimaged(sharp, bicubic[:-1])


def test_the_readout_speaks_the_samples_units_and_the_verdict_is_one_line():
    lr, x2 = band_limited(256, 0.4), band_limited(512, 0.6, seed=1)
    px = readout(lr, x2)
    assert px["unit"] == "px" and px["input"] == pytest.approx(2 / 0.4, rel=0.05)
    assert px["x2"] == pytest.approx(2 / 0.6 / 2, rel=0.05) and px["x2_kc"] == pytest.approx(0.6, rel=0.05)
    nm = readout(lr, x2, pixel_size=0.1)  # 100 nm pixels
    assert nm["unit"] == "nm" and nm["input"] == pytest.approx(100 * px["input"], rel=1e-3)
    line = verdict(nm, {"in_doubt": 0.03}, uncertain=True)
    assert line.startswith(f"resolution {nm['input']:.0f} -> {nm['x2']:.0f} nm (gained; SNR proxy ")
    assert "3 % of the image in doubt" in line
    assert "kernel uncertain" in line and "\n" not in line
    assert plane_resolution(lr[:40, :40], x2[:80, :80]) is None  # too small to measure: no readout
    assert "not measurable" in verdict({**px, "x2": None})


def test_doubt_map_follows_the_input_axes_and_is_the_same_tiled(onnx_model):
    for kind, axes in (("grey16", "YX"), ("rgb8", "YXC"), ("two", "CYX")):
        result, _ = onnx_model(kind)
        data, _ = _onnx_image(kind)
        layout = Layout.of(data.shape, axes)
        c_axis = 1 if len(result.upsampler.groups) > 1 else None
        whole = doubt_map(result.upsampler, result.kernel, data, layout, result.normalization, c_axis, "cpu", None)
        tiled = doubt_map(result.upsampler, result.kernel, data, layout, result.normalization, c_axis, "cpu", 32)
        assert whole.shape == (192, 200) and whole.dtype == np.float32 and whole.min() >= 0
        np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_a_kernel_in_doubt_adds_the_x2s_departure_from_bicubic(onnx_model):
    import torch

    from dualsr.paper.resize import bicubic_up2
    from dualsr.trust.doubt import resolution_scaled

    result, _ = onnx_model("grey16")
    data, axes = _onnx_image("grey16")
    layout, norm = Layout.of(data.shape, axes), result.normalization
    plain = doubt_map(result.upsampler, result.kernel, data, layout, norm, None, "cpu", None)
    doubted = doubt_map(result.upsampler, result.kernel, data, layout, norm, None, "cpu", None, kernel_in_doubt=True)
    x = torch.from_numpy(norm.apply(layout.canonical(data).astype(np.float32), channel_axis=None))
    with torch.inference_mode():
        departure = resolution_scaled((result.upsampler(x) - bicubic_up2(x)).abs())[0, 0].numpy()
    assert departure.mean() > 1e-3  # the toy x2 is not bicubic
    np.testing.assert_allclose(doubted - plain, departure, atol=1e-5)
    tiled = doubt_map(result.upsampler, result.kernel, data, layout, norm, None, "cpu", 32, kernel_in_doubt=True)
    np.testing.assert_allclose(tiled, doubted, atol=1e-5)


def test_a_flat_image_has_no_doubt_and_a_trained_result_carries_the_readout():
    import dualsr

    image = (textured((160, 170)) * 200 + 20).astype(np.uint8)
    config = dualsr.preset("fast", iterations=3)  # back-projection on: the x2 gives its LR back
    result = dualsr.train(image, config=config, doubt=True, seed=0)
    assert result.doubt.shape == (320, 340) and result.resolution["unit"] == "px"
    summary = result.summary()
    assert summary["resolution"] == result.resolution
    assert summary["doubt"]["in_doubt"] == pytest.approx(in_doubt(result.doubt), abs=1e-4)
    assert summary["verdict"] == result.verdict and result.verdict.startswith("resolution ")
    flat = np.full((160, 170), 90, np.uint8)
    layout = Layout.of(flat.shape, "YX")
    doubt = doubt_map(result.upsampler, result.kernel, flat, layout, result.normalization, None)
    # nothing to disagree about, and the LR is given back (within 1 LSB); the outer 16 px keep the doubt
    # the networks' zero padding earns them at the image's edges
    assert float(doubt[16:-16, 16:-16].max()) < DOUBT_LEVEL / 4 < float(doubt.max())
    assert dualsr.train(image, config=config.with_(iterations=1)).doubt is None  # off by default in the API


@pytest.mark.parametrize("value", [0.0, 7.0])
def test_a_constant_image_has_no_measurable_resolution(value):
    """No structure, no resolution: before, a constant 7 read 2.08 -> 11.50 px (the mean's spectrum taken
    for structure) and a constant 0 divided 0 by 0."""
    import warnings

    flat = np.full((96, 100), value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decorrelation(flat).kc == 0.0
        r = readout(flat, np.full((192, 200), value))
    assert r["input"] is None and r["x2"] is None
    assert verdict(r) == "resolution not measurable (no structure above the noise)"


def test_the_cli_prints_the_verdict_writes_the_doubt_map_and_the_metadata(tmp_path, capsys):
    data = (textured((160, 170)) * 30000 + 2000).astype(np.uint16)
    src = imagej_tif(tmp_path / "cells.tif", data, pixel=0.1)
    out, doubt, model = tmp_path / "x2.tif", tmp_path / "doubt.tif", tmp_path / "m.onnx"
    argv = ["train", src, "-o", out, "--doubt-out", doubt, "--onnx", model, "--preset", "fast", "--iterations", "3"]
    code, stdout, _ = run_cli(argv, capsys)
    assert code == 0
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("dualsr: resolution ") and " nm " in last and "% of the image in doubt" in last
    with tifffile.TiffFile(doubt) as t:
        assert t.asarray().shape == (320, 340) and t.asarray().dtype == np.float32
        assert t.imagej_metadata["unit"] in ("um", "micron", "\\u00B5m", "µm")
    info = json.loads(tifffile.TiffFile(out).imagej_metadata["Info"])
    assert info["resolution"]["unit"] == "nm" and info["verdict"] == last.removeprefix("dualsr: ")
    import onnx

    props = {p.key: p.value for p in onnx.load(model).metadata_props}
    assert json.loads(props["resolution"]) == info["resolution"]


def test_apply_onnx_in_napari_reports_the_resolution(make_napari_viewer, qtbot, onnx_model):
    viewer = make_napari_viewer()
    _, model = onnx_model("grey16")
    data, _ = _onnx_image("grey16")
    viewer.add_image(data, name="img", scale=(0.2, 0.2), units=("um", "um"))
    apply = open_widget(viewer, APPLY)
    apply.model.value = model
    apply.start()
    qtbot.waitUntil(lambda: not apply.runner.running, timeout=60_000)
    resolution = viewer.layers["img ×2 (DualSR)"].metadata["dualsr"]["resolution"]
    assert resolution["unit"] == "nm" and resolution["input"] > resolution["x2"] > 0
    assert apply.status.value.startswith("done; resolution ") and " nm " in apply.status.value
