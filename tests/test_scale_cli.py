"""`dualsr apply` on whole datasets: real dask clusters, real files and Zarr arrays, exact results."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from PIL import Image

from conftest import cli_fails, imagej_tif, run_cli, textured
from dualsr.io.files import read_image
from dualsr.runtime.onnx_runtime import OnnxUpsampler


@pytest.fixture(scope="module")
def scheduler():
    """A two-worker local dask cluster, started and closed by this module: its scheduler's address."""
    from distributed import LocalCluster

    options = {"dashboard_address": ":0", "scheduler_kwargs": {"dashboard": False}, "silence_logs": logging.CRITICAL}
    with LocalCluster(n_workers=2, threads_per_worker=1, **options) as cluster:
        yield cluster.scheduler_address


def stack(planes=3, shape=(150, 170)):
    return np.stack([(textured(shape, seed=s) * 50000 + 7).astype(np.uint16) for s in range(planes)])


def zarr_array(path, data, chunks=(1, 64, 64), **kwargs):
    z = zarr.create_array(path, shape=data.shape, chunks=chunks, dtype=data.dtype, **kwargs)
    z[:] = data
    return path


def test_a_folder_of_mixed_files_equals_single_process_apply(tmp_path, onnx_model, scheduler, capsys):
    _, model = onnx_model("grey16")
    src, out, one = tmp_path / "in", tmp_path / "out", tmp_path / "one"
    src.mkdir(), one.mkdir()
    imagej_tif(src / "a.tif", (textured((80, 90), seed=1) * 50000).astype(np.uint16))
    imagej_tif(src / "b.tif", stack(2, (40, 50)), axes="ZYX")
    Image.fromarray((textured((70, 64), seed=2) * 255).astype(np.uint8)).save(src / "c.png")
    Image.fromarray((textured((50, 64), seed=3) * 60000).astype(np.uint16)).save(src / "d.png")
    (src / "broken.tif").write_bytes(b"II*\x00 not a TIFF")
    code, stdout, err = run_cli(["apply", model, src, "-o", out, "--scheduler", scheduler], capsys)
    assert code == 2 and "to 4 files" in stdout
    errors = [line for line in err.splitlines() if line.startswith("dualsr: error:")]
    assert len(errors) == 2 and "broken.tif: cannot read it" in errors[0] and "1 of 5 inputs failed" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == ["a.tif", "b.tif", "c.png", "d.png"]  # no temporaries
    for name in ["a.tif", "b.tif", "c.png", "d.png"]:
        assert run_cli(["apply", model, src / name, "-o", one / name], capsys)[0] == 0
        got, expected = read_image(out / name), read_image(one / name)
        assert np.array_equal(got.data, expected.data) and got.data.dtype == expected.data.dtype
        assert (got.axes, got.pixel_size, got.unit) == (expected.axes, expected.pixel_size, expected.unit)
    (src / "broken.tif").unlink()  # fixed: the rerun has nothing left to do
    code, stdout, _ = run_cli(["apply", model, f"{src}/*.tif", src / "c.png", "-o", out, "--workers", "1"], capsys)
    assert code == 0 and "all 3 results are already in" in stdout


def test_a_3d_uint16_zarr_on_two_local_workers_equals_single_process(tmp_path, onnx_model, capsys):
    _, model = onnx_model("grey16")
    data = stack()
    src = zarr_array(tmp_path / "in.zarr", data, dimension_names=["z", "y", "x"])
    code, stdout, _ = run_cli(
        ["apply", model, src, "-o", tmp_path / "x2.zarr", "--workers", "2", "--tile", "48"], capsys
    )
    assert code == 0 and "to 48 blocks" in stdout and "on 2 dask workers" in stdout
    out = zarr.open_array(tmp_path / "x2.zarr", mode="r")
    assert out.shape == (3, 300, 340) and out.chunks == (1, 96, 96) and out.dtype == np.uint16
    assert out.metadata.dimension_names == ("z", "y", "x") and out.attrs["dualsr"]["complete"]
    tif = imagej_tif(tmp_path / "in.tif", data, axes="ZYX")
    assert run_cli(["apply", model, tif, "-o", tmp_path / "x2.tif"], capsys)[0] == 0  # single process
    assert np.array_equal(out[:], read_image(tmp_path / "x2.tif").data)
    assert np.array_equal(zarr.open_array(src, mode="r")[:], data)  # the input is untouched


def ome_zarr(path, data, version, pixel=0.4):
    """An OME-Zarr image of ZYX ``data``: 3 levels (Y and X halved each), ``pixel`` um in Y and X."""
    from ome_zarr.format import format_from_version
    from ome_zarr.writer import write_multiscales_metadata

    fmt = 3 if version == "0.5" else 2
    group = zarr.open_group(path, mode="w", zarr_format=fmt)
    datasets = []
    for level in range(3):
        f = 2**level
        zarr_array(
            path / f"s{level}",
            data[:, ::f, ::f],
            zarr_format=fmt,
            **({"dimension_names": list("zyx")} if fmt == 3 else {}),
        )
        datasets.append(
            {
                "path": f"s{level}",
                "coordinateTransformations": [{"type": "scale", "scale": [2.0, pixel * f, pixel * f]}],
            }
        )
    axes = [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    write_multiscales_metadata(group, datasets, fmt=format_from_version(version), axes=axes, name="cells")
    return path


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_ome_zarr_in_gives_ome_zarr_out_with_half_the_pixel_size(tmp_path, onnx_model, scheduler, capsys, version):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    _, model = onnx_model("grey16")
    data = stack()
    src = ome_zarr(tmp_path / "in.ome.zarr", data, version)
    out = tmp_path / "x2.ome.zarr"
    code, stdout, _ = run_cli(["apply", model, src, "-o", out, "--scheduler", scheduler], capsys)
    assert code == 0 and f"OME-Zarr {version}, 3 levels" in stdout
    node = next(iter(Reader(parse_url(out))()))
    assert [d.shape for d in node.data] == [(3, 300, 340), (3, 150, 170), (3, 75, 85)]
    assert [a["name"] for a in node.metadata["axes"]] == ["z", "y", "x"]
    level0, level1 = node.metadata["coordinateTransformations"][:2]
    assert level0[0]["scale"] == pytest.approx([2.0, 0.2, 0.2])
    assert level0[1]["translation"] == pytest.approx([0.0, -0.1, -0.1])  # pixel centres kept
    assert level1[0]["scale"] == pytest.approx([2.0, 0.4, 0.4]) and level1[1]["translation"] == pytest.approx([0] * 3)
    x2 = np.asarray(node.data[0])
    assert np.array_equal(x2, OnnxUpsampler(model).upsample(data, axes="ZYX"))
    mean = x2[:, :2, :2].reshape(3, -1).mean(axis=1)
    assert np.array_equal(np.asarray(node.data[1])[:, 0, 0], np.rint(mean).astype(np.uint16))


def chunk_files(path: Path) -> list[Path]:
    return [p for p in (path / "c").rglob("*") if p.is_file()]


def ctrl_c_after(monkeypatch, blocks: int) -> None:
    """Press Ctrl-C once, when ``blocks`` blocks are reported written: the KeyboardInterrupt that
    Python's SIGINT handler raises, raised in the progress callback itself (main thread, between two
    blocks), so where it lands does not depend on signal delivery, handlers earlier tests installed
    or the machine's load (real SIGINTs sent to a running process: test_reliability_stop.py)."""
    import dualsr.cli.apply as cli_apply

    bars, sent = cli_apply._bars, []

    def with_ctrl_c():
        update = bars()

        def on_update(phase: str, done: int, total: int) -> None:
            update(phase, done, total)
            if phase == "blocks" and done >= blocks and not sent:
                sent.append(done)
                raise KeyboardInterrupt

        return on_update

    monkeypatch.setattr(cli_apply, "_bars", with_ctrl_c)


def test_an_interrupted_run_resumes_and_completes_with_the_same_result(
    tmp_path, onnx_model, scheduler, capsys, monkeypatch
):
    _, model = onnx_model("grey16")
    data = stack(4, (128, 128))
    src, out = zarr_array(tmp_path / "in.zarr", data), tmp_path / "x2.zarr"
    argv = ["apply", model, src, "-o", out, "--axes", "ZYX", "--tile", "16", "--scheduler", scheduler]
    ctrl_c_after(monkeypatch, 5)
    code, _, err = run_cli(argv, capsys)
    assert code == 130 and "run the same command again to finish" in err.splitlines()[-1]
    written = chunk_files(out)
    assert 5 <= len(written) < 256
    z = zarr.open_array(out, mode="r")
    assert not z.attrs["dualsr"]["complete"]
    code, stdout, _ = run_cli(argv, capsys)
    assert code == 0 and "already written, skipped" in stdout
    assert np.array_equal(zarr.open_array(out, mode="r")[:], OnnxUpsampler(model).upsample(data, axes="ZYX"))
    assert "already complete; nothing to do" in run_cli(argv, capsys)[1]


def test_bad_schedulers_inputs_and_outputs_are_one_line(tmp_path, onnx_model, monkeypatch, capsys):
    import dask

    _, model = onnx_model("grey16")
    src = zarr_array(tmp_path / "in.zarr", stack(1, (64, 64)))
    out = tmp_path / "x2.zarr"
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    dask.config.refresh()
    for address in ("tcp://127.0.0.1:1", "not an address"):
        cli_fails(
            capsys, ["apply", model, src, "-o", out, "--axes", "ZYX", "--scheduler", address], out, "dask scheduler"
        )
    cli_fails(capsys, ["apply", model, src, "-o", out], out, "name them")  # 3D without axes
    cli_fails(capsys, ["apply", model, src, "-o", src / "x2.zarr", "--axes", "ZYX"], src / "x2.zarr", "inside it")
    zarr.open_group(tmp_path / "group.zarr", mode="w").create_array("raw", shape=(8, 8), dtype="u2")
    cli_fails(capsys, ["apply", model, tmp_path / "group.zarr", "-o", out], out, "group.zarr/raw")
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr" / "zarr.json").write_text("{not json")
    cli_fails(capsys, ["apply", model, tmp_path / "bad.zarr", "-o", out], out, "cannot read it as Zarr")
    other = zarr_array(tmp_path / "other.zarr", np.zeros((4, 4), np.uint16), chunks=(4, 4))
    code, _, err = run_cli(["apply", model, src, "-o", other, "--axes", "ZYX"], capsys)
    assert code == 2 and "is not an unfinished run of this command" in err and err.count("\n") == 1
    folder = tmp_path / "f"
    cli_fails(capsys, ["apply", model, f"{tmp_path}/*.png", "-o", folder], folder, "no image files match")
    cli_fails(capsys, ["apply", model, src, src, "-o", folder], folder, "one Zarr at a time")


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare for a private tmpfs")
def test_a_full_disk_is_one_line_and_leaves_only_whole_chunks(tmp_path, onnx_model):
    """The output on a 32 KB tmpfs (a private mount namespace, no root needed) fills up mid-run."""
    _, model = onnx_model("grey16")
    src = zarr_array(tmp_path / "in.zarr", stack(2, (160, 160)))
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=32k tmpfs {disk} || exit 97; {sys.executable} -m dualsr.cli apply {model} {src} "
        f"-o {disk}/x2.zarr --axes ZYX --tile 32 --workers 1; echo rc=$?; ls -R {disk} | grep -c partial"
    )
    run = subprocess.run(["unshare", "-r", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if "rc=" not in run.stdout:  # unshare or mount refused: no user namespaces on this machine
        pytest.skip(f"no private tmpfs here: {run.stderr.strip()[:200]}")
    errors = [line for line in run.stderr.splitlines() if not line.startswith(("normalising [", "applying ["))]
    assert "rc=1" in run.stdout and run.stdout.strip().endswith("0"), run.stdout + run.stderr  # no partial files
    assert len(errors) == 1 and "No space left on device" in errors[0] and "x2.zarr" in errors[0], run.stderr
