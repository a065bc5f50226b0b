"""``dualsr isotropic`` on real files: the voxel size read and written in OME-TIFF, ImageJ TIFF,
OME-Zarr and NIfTI, and the one-line errors (exit 2) for a bad voxel size or an isotropic stack."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import zarr
from scipy import ndimage

from dualsr.cli.main import main
from dualsr.io.volume import read_volume

STEPS = ["--steps", "2"]


def _stack(z: int = 8, side: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (ndimage.gaussian_filter(rng.random((z, side, side)), 1.0) * 50000).astype(np.uint16)


def _one_line_error(capsys, argv: list[str], text: str) -> None:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert text in err and "\n" not in err, err


def test_ome_tiff_spacing_in_and_out(tmp_path, capsys):
    src, out = tmp_path / "in.ome.tif", tmp_path / "out.ome.tif"
    meta = {"axes": "ZYX", "PhysicalSizeZ": 2.0, "PhysicalSizeY": 0.5, "PhysicalSizeX": 0.5}
    tifffile.imwrite(src, _stack(), ome=True, metadata=meta)
    assert read_volume(src).voxel_size == (2.0, 0.5, 0.5)
    assert main(["isotropic", str(src), "-o", str(out), *STEPS, "--fwhm", "2"]) == 0
    assert "factor 4" in capsys.readouterr().out
    back = read_volume(out)
    assert back.data.shape == (32, 40, 40) and back.data.dtype == np.uint16
    assert back.voxel_size == pytest.approx((0.5, 0.5, 0.5))
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome


def test_imagej_tiff_spacing_in_and_out(tmp_path, capsys):
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(
        src,
        _stack(side=56),  # noise has no slice profile: the blind one comes out as wide as allowed (3 f)
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZYX", "spacing": 1.5, "unit": "micron"},
    )
    assert read_volume(src).voxel_size == (1.5, 0.5, 0.5)
    profile = tmp_path / "profile.txt"
    assert main(["isotropic", str(src), "-o", str(out), *STEPS, "--profile-out", str(profile)]) == 0
    assert "at the widest width tried" in capsys.readouterr().out  # and the run says so
    back = read_volume(out)
    assert back.data.shape == (24, 56, 56)
    assert back.voxel_size == pytest.approx((0.5, 0.5, 0.5))
    assert back.unit == "micron"
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej and json.loads(tif.imagej_metadata["Info"])["factor"] == pytest.approx(3.0)
    # the written profile is a valid --profile input
    capsys.readouterr()
    rc = main(["isotropic", str(src), "-o", str(tmp_path / "again.tif"), *STEPS, "--profile", str(profile)])
    assert rc == 0, capsys.readouterr().err
    assert "(samples" in capsys.readouterr().out


def test_ome_zarr_scale_and_translation_block_by_block(tmp_path):
    src, out = tmp_path / "in.zarr", tmp_path / "out.zarr"
    group = zarr.open_group(src, mode="w", zarr_format=2)
    group.create_array("0", data=_stack(8, 48), chunks=(8, 16, 16))
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [2.0, 0.5, 0.5]},
                        {"type": "translation", "translation": [10.0, 1.0, 2.0]},
                    ],
                }
            ],
        }
    ]
    assert read_volume(src).voxel_size == (2.0, 0.5, 0.5)
    assert main(["isotropic", str(src), "-o", str(out), *STEPS, "--fwhm", "2", "--block", "20"]) == 0
    result = zarr.open_group(out, mode="r")
    ms = result.attrs["multiscales"][0]
    transforms = ms["datasets"][0]["coordinateTransformations"]
    scale, translation = transforms[0]["scale"], transforms[1]["translation"]
    assert scale == pytest.approx([0.5, 0.5, 0.5])
    assert translation == pytest.approx([10.0 + 0.5 * 2.0 * (1 / 4 - 1), 1.0, 2.0])  # slice centres kept
    data = result["0"][:]
    assert data.shape == (32, 48, 48) and data.dtype == np.uint16 and data.std() > 0
    back = read_volume(out)
    assert back.voxel_size == pytest.approx((0.5, 0.5, 0.5))


def test_nifti_thick_axis_found_and_affine_updated(tmp_path):
    nib = pytest.importorskip("nibabel")
    src, out = tmp_path / "in.nii.gz", tmp_path / "out.nii.gz"
    affine = np.array([[0.5, 0, 0, -10], [0, 0.5, 0, -20], [0, 0, 2.0, -30], [0, 0, 0, 1]])
    data = np.transpose(_stack(8, 40), (2, 1, 0))  # (x, y, z): the thick axis is the file's last
    nib.save(nib.Nifti1Image(data, affine), src)
    vol = read_volume(src)
    assert vol.voxel_size == (2.0, 0.5, 0.5) and vol.data.shape == (8, 40, 40)
    assert main(["isotropic", str(src), "-o", str(out), *STEPS, "--fwhm", "2"]) == 0
    img = nib.load(out)
    assert img.shape == (40, 40, 32)
    assert img.header.get_zooms() == pytest.approx((0.5, 0.5, 0.5))
    # new voxel j = 4i + 1.5 sits where old slice i sat
    for i in (0, 3, 7):
        old = affine @ [5, 6, i, 1]
        new = img.affine @ [5, 6, 4 * i + 1.5, 1]
        np.testing.assert_allclose(new, old, atol=1e-6)


@pytest.mark.parametrize(
    "voxel, text",
    [("1,1,1", "isotropic already"), ("0,1,1", "positive"), ("2,0.5,1", "not square"), ("abc", "three numbers")],
)
def test_bad_voxel_size_or_isotropic_input_is_one_line_exit_2(tmp_path, capsys, voxel, text):
    src = tmp_path / "in.npy"
    np.save(src, _stack())
    _one_line_error(capsys, ["isotropic", str(src), "-o", str(tmp_path / "o.tif"), "--voxel-size", voxel], text)


def test_unknown_voxel_size_and_isotropic_file_are_one_line_exit_2(tmp_path, capsys):
    src = tmp_path / "in.npy"
    np.save(src, _stack())
    _one_line_error(capsys, ["isotropic", str(src), "-o", str(tmp_path / "o.tif")], "voxel size is unknown")
    iso = tmp_path / "iso.tif"
    tifffile.imwrite(iso, _stack(), imagej=True, resolution=(1.0, 1.0), metadata={"axes": "ZYX", "spacing": 1.0})
    _one_line_error(capsys, ["isotropic", str(iso), "-o", str(tmp_path / "o.tif")], "isotropic already")
    assert not (tmp_path / "o.tif").exists()


def test_slices_all_alike_are_one_line_exit_2_unless_the_profile_is_given(tmp_path, capsys):
    """A stack whose slices are identical, or whose planes are flat, shows no profile: every candidate fits
    alike, and the pick would be the first one tried, reported as an estimate. With the FWHM given it runs."""
    src = tmp_path / "in.npy"
    np.save(src, np.repeat(_stack(1), 8, axis=0))
    argv = ["isotropic", str(src), "-o", str(tmp_path / "o.tif"), "--voxel-size", "3,1,1", *STEPS]
    _one_line_error(capsys, argv, "slices are all alike")
    assert not (tmp_path / "o.tif").exists()
    assert main([*argv, "--fwhm", "3"]) == 0
    capsys.readouterr()
    flat = tmp_path / "flat.npy"  # the other way round: every plane flat, the planes differing
    np.save(flat, np.broadcast_to(np.arange(8, dtype=np.uint16)[:, None, None] * 100, (8, 40, 40)).copy())
    argv[1], argv[3] = str(flat), str(tmp_path / "flat.tif")
    _one_line_error(capsys, argv, "every plane is flat")
    assert not (tmp_path / "flat.tif").exists()


def test_64_bit_integers_are_refused_for_tiff_before_training_and_kept_elsewhere(tmp_path, capsys):
    """OME-TIFF has no 64-bit integers: before, the run trained and then failed with a traceback."""
    src = tmp_path / "in.npy"
    np.save(src, _stack().astype(np.int64))
    argv = ["isotropic", str(src), "--voxel-size", "3,1,1", *STEPS, "--fwhm", "2"]
    _one_line_error(capsys, [*argv, "-o", str(tmp_path / "o.tif")], "OME-TIFF cannot hold int64")
    assert not (tmp_path / "o.tif").exists()
    assert main([*argv, "-o", str(tmp_path / "o.npy")]) == 0
    assert np.load(tmp_path / "o.npy").dtype == np.int64


def test_planes_too_small_for_the_noise_model_say_how_to_turn_it_off(tmp_path, capsys):
    src = tmp_path / "in.npy"
    np.save(src, _stack(side=12))
    argv = ["isotropic", str(src), "-o", str(tmp_path / "o.tif"), "--voxel-size", "3,1,1", *STEPS]
    _one_line_error(capsys, argv, "too small to measure their noise (16x16 at least); turn the noise model off")


def test_an_unseen_shape_is_said_and_shape_alone_fits_the_width(tmp_path, capsys):
    """A rectangle as wide as the step: the blind run names both shapes' widths in one line; --shape
    rect alone fits only the width (no line), and both runs' fits travel in the file and the ONNX model."""
    from dualsr.isotropic.degrade import degrade_axis
    from dualsr.isotropic.export import OnnxAxisModel
    from dualsr.isotropic.profile import named

    rng = np.random.default_rng(1)
    field = ndimage.gaussian_filter(rng.standard_normal((72, 56, 56)), 1.0)
    lr = degrade_axis(field, 0, 3.0, named("rect", 3.0))
    lr = ((lr - lr.min()) / (lr.max() - lr.min()) * 50000).astype(np.uint16)
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(
        src, lr, ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 1.5, "PhysicalSizeY": 0.5, "PhysicalSizeX": 0.5}
    )
    assert main(["isotropic", str(src), "-o", str(tmp_path / "blind.tif"), *STEPS, "--noise", "off"]) == 0
    printed = capsys.readouterr().out
    lines = [ln for ln in printed.splitlines() if "shape is not seen" in ln]
    assert len(lines) == 1 and "gaussian of FWHM" in lines[0] and "rect of FWHM" in lines[0]
    assert "width tried" not in printed  # the width is inside the search: no edge note
    out, onnx = tmp_path / "rect.tif", tmp_path / "rect.onnx"
    argv = ["isotropic", str(src), "-o", str(out), *STEPS, "--noise", "off", "--shape", "rect", "--onnx", str(onnx)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "(estimated-width, rect)" in text and "shape is not seen" not in text
    meta = json.loads(OnnxAxisModel(onnx).meta["profile_estimate"])
    assert meta["shape_given"] is True and meta["shape"] == "rect"
    assert meta["fwhm_pixels"] == pytest.approx(3.0, rel=0.2)


def test_ome_tiff_with_one_in_plane_size_takes_the_pixels_as_square(tmp_path):
    """OME gives PhysicalSizeY alone: it is the pixel size (not 1.0 for both, which made factor 1.5 of 3)."""
    src = tmp_path / "y_only.ome.tif"
    tifffile.imwrite(src, _stack(), ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 1.5, "PhysicalSizeY": 0.5})
    assert read_volume(src).voxel_size == (1.5, 0.5, 0.5)
