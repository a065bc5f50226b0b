"""Files (issue 6, area 5): TIFF in, TIFF out keeps the ImageJ/OME metadata that still
holds (axes, channel names, unit, z step) and updates what changes (the pixel size
halves, the shape doubles); PNG keeps 8/16 bit. Real files, written and read by tifffile."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from conftest import run_cli, textured
from dualsr.errors import DualSRInputError
from dualsr.io.files import ImageFile, read_image, write_image


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


def test_train_grey16_tiff_keeps_metadata(grey16, tmp_path, capsys):
    src, data = grey16
    out, kernel, hist = tmp_path / "out.tif", tmp_path / "k.npy", tmp_path / "h.csv"
    code, stdout, _ = run_cli(
        ["train", src, "-o", out, "--iterations", "2", "--kernel-out", kernel, "--history-out", hist], capsys
    )
    assert code == 0, stdout
    with tifffile.TiffFile(out) as tif:
        sr = tif.asarray()
        xres = tif.pages[0].tags["XResolution"].value
        assert tif.imagej_metadata["unit"] == "um"
        assert '"steps": 2' in tif.imagej_metadata["Info"]
    assert sr.shape == (2 * data.shape[0], 2 * data.shape[1]) and sr.dtype == np.uint16
    assert xres[1] / xres[0] == pytest.approx(0.2)  # pixel size halved
    k = np.load(kernel)
    assert k.shape == (13, 13) and k.sum() == pytest.approx(1.0)
    assert hist.read_text().splitlines()[0].startswith("group,step,total")
    assert len(hist.read_text().splitlines()) == 3
    assert "wrote" in stdout


def _ome_tif(path, data, axes, names, size=(0.3, 0.2)):
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": axes,
            "Channel": {"Name": names},
            "PhysicalSizeY": size[0],
            "PhysicalSizeYUnit": "µm",
            "PhysicalSizeX": size[1],
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeZ": 1.5,
            "PhysicalSizeZUnit": "µm",
        },
    )
    return path


def _ome_pixels(path):
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        return tif.series[0].axes, tif.asarray(), image


def test_ome_tiff_through_train_stays_ome_with_names_and_half_the_pixel_size(tmp_path, capsys):
    data = np.stack([np.stack([textured((150, 150), seed=3 * c + z) for z in range(2)]) for c in range(2)])
    src = _ome_tif(tmp_path / "in.ome.tif", (data * 9000).astype(np.uint16), "CZYX", ["DAPI", "GFP"])
    image = read_image(src)
    assert image.axes == "CZYX" and image.pixel_size == pytest.approx((0.3, 0.2)) and image.unit == "µm"
    assert image.extra["ome"]["Channel"] == {"Name": ["DAPI", "GFP"]}
    out = tmp_path / "out.ome.tif"
    code, _, err = run_cli(["train", src, "-o", out, "--iterations", "2", "--plane", "1"], capsys)
    assert code == 0, err
    axes, sr, meta = _ome_pixels(out)
    pixels = meta["Pixels"]
    assert axes == "CZYX" and sr.shape == (2, 2, 300, 300) and sr.dtype == np.uint16
    assert [c["Name"] for c in pixels["Channel"]] == ["DAPI", "GFP"]
    assert (pixels["PhysicalSizeY"], pixels["PhysicalSizeX"]) == pytest.approx((0.15, 0.1))
    assert pixels["PhysicalSizeXUnit"] == "µm" and pixels["PhysicalSizeZ"] == 1.5
    assert json.loads(meta["Description"])["plane"] == 1


def test_ome_tiff_through_apply_stays_ome(tmp_path, onnx_model, capsys):
    _, model = onnx_model("two")  # float32 CYX, two independent channels
    data = np.stack([textured((60, 70), seed=1), textured((60, 70), seed=2)]).astype(np.float32)
    src = _ome_tif(tmp_path / "in.ome.tif", data, "CYX", ["actin", "tubulin"], size=(0.5, 0.5))
    code, _, err = run_cli(["apply", model, src, "-o", tmp_path / "x2.ome.tif"], capsys)
    assert code == 0, err
    axes, sr, meta = _ome_pixels(tmp_path / "x2.ome.tif")
    assert axes == "CYX" and sr.shape == (2, 120, 140) and sr.dtype == np.float32
    assert [c["Name"] for c in meta["Pixels"]["Channel"]] == ["actin", "tubulin"]
    assert meta["Pixels"]["PhysicalSizeX"] == pytest.approx(0.25)


def test_ome_rgb_round_trip_keeps_samples_as_rgb(tmp_path):
    rgb = (np.random.default_rng(2).random((20, 30, 3)) * 255).astype(np.uint8)
    src = _ome_tif(tmp_path / "rgb.ome.tif", rgb, "YXS", ["RGB"])
    image = read_image(src)
    assert image.axes == "YXC"
    out = write_image(tmp_path / "back.ome.tif", image)
    axes, back, _ = _ome_pixels(out)
    assert axes == "YXS" and np.array_equal(back, rgb)
