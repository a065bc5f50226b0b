"""``dualsr isotropic`` block by block from file to file: TIFF, NumPy and NIfTI stacks read a few planes
at a time and written back plane by plane equal the in-memory run; a Zarr stack written to TIFF; the
memory estimate that sends a stack too large for the memory free block by block; out of memory in one
line."""

from __future__ import annotations

import resource
import subprocess
import sys

import numpy as np
import pytest
import tifffile
import zarr
from scipy import ndimage

from dualsr.cli.main import main
from dualsr.io.files import TiffPlanes
from dualsr.io.volume import read_volume
from dualsr.isotropic.blockwise import in_memory_bytes, needs_blocks

RUN = ["--steps", "3", "--fwhm", "2", "--noise", "off"]


def _stack(z: int = 8, h: int = 48, w: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (ndimage.gaussian_filter(rng.random((z, h, w)), 1.0) * 50000).astype(np.uint16)


def _imagej(path, data) -> None:
    meta = {"axes": "ZYX", "spacing": 2.0, "unit": "micron"}
    tifffile.imwrite(path, data, imagej=True, resolution=(2.0, 2.0), metadata=meta, compression="zlib")


def test_tiff_and_npy_block_by_block_equal_the_in_memory_run(tmp_path, capsys):
    src = tmp_path / "in.tif"
    _imagej(src, _stack())
    np.save(tmp_path / "in.npy", _stack())
    assert main(["isotropic", str(src), "-o", str(tmp_path / "mem.tif"), *RUN]) == 0
    assert main(["isotropic", str(src), "-o", str(tmp_path / "blocks.tif"), *RUN, "--block", "16"]) == 0
    npy = ["isotropic", str(tmp_path / "in.npy"), "-o", str(tmp_path / "blocks.npy"), *RUN, "--block", "16"]
    assert main([*npy, "--voxel-size", "2,0.5,0.5"]) == 0
    whole, blocks = read_volume(tmp_path / "mem.tif"), read_volume(tmp_path / "blocks.tif")
    assert blocks.data.shape == (32, 48, 40) and blocks.data.dtype == np.uint16
    assert blocks.voxel_size == pytest.approx((0.5, 0.5, 0.5)) and blocks.unit == "micron"
    assert np.abs(whole.data.astype(int) - blocks.data.astype(int)).max() <= 1  # float32 rounding at most
    assert np.array_equal(np.load(tmp_path / "blocks.npy"), blocks.data)
    with tifffile.TiffFile(tmp_path / "blocks.tif") as tif:
        assert tif.is_imagej and '"factor": 4' in tif.imagej_metadata["Info"]
    assert main(["isotropic", str(src), "-o", str(tmp_path / "mem.nii"), *RUN]) == 0  # TIFF to NIfTI: RAS, Z third
    assert main(["isotropic", str(src), "-o", str(tmp_path / "blocks.nii"), *RUN, "--block", "16"]) == 0
    mem_nii, blocks_nii = (tmp_path / "mem.nii").read_bytes(), (tmp_path / "blocks.nii").read_bytes()
    assert mem_nii[:352] == blocks_nii[:352] and len(mem_nii) == len(blocks_nii)  # the header, then the voxels
    diff = np.frombuffer(mem_nii[352:], np.uint16).astype(int) - np.frombuffer(blocks_nii[352:], np.uint16)
    assert np.abs(diff).max() <= 1
    names = ["blocks.nii", "blocks.npy", "blocks.tif", "in.npy", "in.tif", "mem.nii", "mem.tif"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_zarr_stack_written_to_tiff_and_tiff_to_ome_zarr(tmp_path):
    group = zarr.open_group(tmp_path / "in.zarr", mode="w", zarr_format=3)
    group.create_array("0", data=_stack(), chunks=(8, 16, 16))
    ds = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [2.0, 0.5, 0.5]}]}]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": [{"name": a} for a in "zyx"], "datasets": ds}]}
    assert main(["isotropic", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.tif"), *RUN]) == 0
    assert read_volume(tmp_path / "out.tif").voxel_size == pytest.approx((0.5, 0.5, 0.5))
    _imagej(tmp_path / "in.tif", _stack())
    assert main(["isotropic", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.zarr"), *RUN, "--block", "20"]) == 0
    back = read_volume(tmp_path / "out.zarr")
    assert back.voxel_size == pytest.approx((0.5, 0.5, 0.5)) and back.data.shape == (32, 48, 40)
    assert np.array_equal(np.asarray(back.data[:]), read_volume(tmp_path / "out.tif").data)


def test_tiff_planes_read_only_the_planes_asked(tmp_path):
    data = _stack(6, 20, 24)
    tifffile.imwrite(tmp_path / "ome.tif", data, ome=True, metadata={"axes": "ZYX"})
    planes = read_volume(tmp_path / "ome.tif", lazy=True).data
    assert isinstance(planes, TiffPlanes) and planes.shape == (6, 20, 24) and planes.dtype == np.uint16
    assert np.array_equal(planes.read(2, 5), data[2:5]) and np.array_equal(np.asarray(planes), data)


def test_a_stack_too_large_for_the_memory_free_goes_block_by_block(tmp_path):
    np.save(tmp_path / "in.npy", _stack())
    volume = read_volume(tmp_path / "in.npy", lazy=True)
    volume.voxel_size = (2.0, 0.5, 0.5)
    need = in_memory_bytes((8, 48, 40), 4.0)
    assert needs_blocks(volume, free=need + 1) is None
    assert "needs about" in needs_blocks(volume, free=need - 1)
    volume.voxel_size = None  # the in-memory path gives the clear error
    assert needs_blocks(volume, free=1) is None


@pytest.mark.parametrize(
    "argv, text",
    [
        (["in.nii.gz", "-o", "out.png", "--block", "16"], "use .tif, .tiff, .npy, .zarr, .nii.gz, .nii"),
        (["in.tif", "-o", "out.tif", "--block", "8"], "--block must be at least 16"),
    ],
)
def test_block_by_block_refusals_are_one_line_exit_2(tmp_path, capsys, argv, text):
    import nibabel as nib

    _imagej(tmp_path / "in.tif", _stack())
    nib.save(nib.Nifti1Image(_stack().T.astype(np.float32), np.diag([0.5, 0.5, 2.0, 1.0])), tmp_path / "in.nii.gz")
    argv = [str(tmp_path / a) if a.startswith(("in.", "out.")) else a for a in argv]
    assert main(["isotropic", *argv, *RUN]) == 2
    err = capsys.readouterr().err.strip()
    assert text in err and "\n" not in err, err
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def _nifti(path, thick: int, data=None) -> np.ndarray:
    """A NIfTI of ``_stack()`` with its thick (2 mm) axis at file axis ``thick``; returns the file's array."""
    import nibabel as nib

    zyx = _stack() if data is None else data
    file = np.ascontiguousarray(
        zyx.T if thick == 2 else zyx.transpose(0, 2, 1) if thick == 0 else zyx.transpose(2, 0, 1)
    )
    zooms = [0.5, 0.5, 0.5]
    zooms[thick] = 2.0
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = (-3.0, 5.0, 7.5)
    nib.save(nib.Nifti1Image(file, affine), path)
    return file


@pytest.mark.parametrize("name, thick", [("in.nii.gz", 2), ("in.nii", 0), ("in.nii.gz", 1)])
def test_nifti_block_by_block_equals_the_in_memory_run(tmp_path, name, thick):
    """Read once front to back in the file's order and written in it, whichever file axis is the thick one."""
    import nibabel as nib

    _nifti(tmp_path / name, thick)
    out = "out" + name[2:]
    assert main(["isotropic", str(tmp_path / name), "-o", str(tmp_path / f"mem{out}"), *RUN]) == 0
    assert main(["isotropic", str(tmp_path / name), "-o", str(tmp_path / f"blk{out}"), *RUN, "--block", "16"]) == 0
    whole, blocks = nib.load(tmp_path / f"mem{out}"), nib.load(tmp_path / f"blk{out}")
    shape = list(nib.load(tmp_path / name).shape)  # the file's axes, the thick one now 4x the slices
    shape[thick] *= 4
    assert blocks.shape == tuple(shape) and blocks.header.get_zooms() == (0.5, 0.5, 0.5)
    assert np.abs(np.asarray(whole.dataobj).astype(int) - np.asarray(blocks.dataobj).astype(int)).max() <= 1
    assert whole.header.binaryblock == blocks.header.binaryblock  # affine, zooms, scaling, description alike
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, f"mem{out}", f"blk{out}"])


def test_nifti_is_copied_in_its_files_order_in_whole_chunks(tmp_path, monkeypatch):
    from dualsr.isotropic import blockwise

    file = _nifti(tmp_path / "sag.nii.gz", 0)
    lazy = read_volume(tmp_path / "sag.nii.gz", lazy=True)
    assert lazy.data.shape == (8, 48, 40) and lazy.voxel_size == (2.0, 0.5, 0.5)
    assert np.array_equal(lazy.data.read(2, 5, slice(3, 9)), file.transpose(0, 2, 1)[2:5, 3:9])
    monkeypatch.setattr(blockwise, "STAGE_BYTES", 8 * 40 * 2 * 5)  # five slices of the file's slowest axis (Y)
    monkeypatch.setattr(blockwise, "STAGE_SIDE", 16)
    seen = []
    copied = blockwise.stage_slabs(lazy.data, tmp_path / "copy.zarr", 16, lambda done, total: seen.append(done))
    array = zarr.open_array(copied.path, mode="r")
    assert array.chunks[1:] == (5, 16) and np.array_equal(array[:], file.transpose(0, 2, 1))
    assert seen == [5, 10, 15, 20, 25, 30, 35, 40, 45, 48]
    volume = read_volume(tmp_path / "sag.nii.gz", lazy=True)
    need = in_memory_bytes((8, 48, 40), 4.0)
    assert needs_blocks(volume, free=need + 1) is None and "needs about" in needs_blocks(volume, free=need - 1)


def test_a_truncated_nifti_read_block_by_block_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "in.nii.gz"
    _nifti(path, 2)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert main(["isotropic", str(path), "-o", str(tmp_path / "out.nii.gz"), *RUN, "--block", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert "complete?" in err and "\n" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.nii.gz"]


def test_out_of_memory_is_one_line(tmp_path):
    """A stack larger than the memory the process may have (a sparse 3 GB file, a 2 GB address-space cap)."""
    path = tmp_path / "huge.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(3, 32768, 32768)).flush()
    cap = 2 * 2**30

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, "-m", "dualsr.cli", "train", str(path), "-o", str(tmp_path / "x2.tif")]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit, timeout=120)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip()
    assert "dualsr: error: out of memory" in err and "\n" not in err and "Traceback" not in err, err


def test_a_terminated_run_leaves_no_temporary_copy(tmp_path):
    """SIGTERM (a job killed) ends the run as an exit does: the copied stack beside the output is removed."""
    import signal
    import time

    _imagej(tmp_path / "in.tif", _stack(8, 96, 96))
    cmd = [sys.executable, "-m", "dualsr.cli", "isotropic", str(tmp_path / "in.tif"), "-o", str(tmp_path / "o.tif")]
    proc = subprocess.Popen([*cmd, "--block", "32", "--fwhm", "2", "--steps", "100000"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".o.tif.*/input.zarr")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".o.tif.*")), "the run did not start"
    time.sleep(1.0)  # training now
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.decode().strip().splitlines()[-1] == "dualsr: terminated; nothing was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


@pytest.mark.parametrize("kind", ["tiled tiff", "npy"])
def test_planes_larger_than_a_copy_step_are_copied_in_bands_of_rows(tmp_path, monkeypatch, kind):
    from dualsr.isotropic import blockwise

    data = _stack(3, 100, 40)
    if kind == "npy":
        np.save(tmp_path / "in.npy", data)
        path = tmp_path / "in.npy"
    else:
        path = tmp_path / "in.tif"
        tifffile.imwrite(path, data, tile=(16, 16), photometric="minisblack", metadata={"axes": "ZYX"})
    lazy = read_volume(path, lazy=True).data
    monkeypatch.setattr(blockwise, "STAGE_BYTES", 2 * 40 * 16 * 2)  # two bands of 16 rows: smaller than a plane
    monkeypatch.setattr(blockwise, "STAGE_SIDE", 16)
    copied = blockwise.stage(lazy, tmp_path / "copy.zarr", 16)
    array = zarr.open_array(copied.path, mode="r")
    assert array.chunks == (1, 16, 16) and np.array_equal(array[:], data)
    assert np.array_equal(lazy.read(1, 3, slice(10, 30)), data[1:3, 10:30])


@pytest.mark.parametrize("name", ["in.npy", "in.tif"])
def test_a_truncated_stack_read_block_by_block_is_one_line_exit_2(tmp_path, capsys, name):
    path = tmp_path / name
    _imagej(path, _stack()) if name.endswith(".tif") else np.save(path, _stack())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    argv = ["isotropic", str(path), "-o", str(tmp_path / "out.tif"), *RUN, "--block", "16"]
    assert main([*argv, "--voxel-size", "2,0.5,0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "complete?" in err and "\n" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_tiff_stack_on_a_dask_worker_equals_the_in_process_run(tmp_path):
    _imagej(tmp_path / "in.tif", _stack())
    base = ["isotropic", str(tmp_path / "in.tif"), *RUN, "--block", "16"]
    assert main([*base, "-o", str(tmp_path / "here.tif")]) == 0
    assert main([*base, "-o", str(tmp_path / "dask.tif"), "--workers", "1"]) == 0
    assert np.array_equal(tifffile.imread(tmp_path / "dask.tif"), tifffile.imread(tmp_path / "here.tif"))
