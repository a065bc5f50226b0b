"""The ``dualsr`` command: happy paths on real files and every error path (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from dualsr.cli import main

FAST = ["--iterations", "2"]


@pytest.fixture
def grey16(tmp_path, texture):
    path = tmp_path / "grey.tif"
    data = (texture * 30000 + 2000).astype(np.uint16)
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.4, 1 / 0.4), metadata={"axes": "YX", "unit": "um"})
    return path, data


@pytest.fixture
def rgb8(tmp_path, texture):
    path = tmp_path / "rgb.png"
    data = (np.stack([texture, texture[::-1], texture[:, ::-1]], -1) * 255).astype(np.uint8)
    Image.fromarray(data).save(path)
    return path, data


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_grey16_tiff_keeps_metadata(grey16, tmp_path, capsys):
    src, data = grey16
    out, kernel, hist = tmp_path / "out.tif", tmp_path / "k.npy", tmp_path / "h.csv"
    code, stdout, _ = run_cli(["train", src, "-o", out, *FAST, "--kernel-out", kernel, "--history-out", hist], capsys)
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


def test_train_rgb8_png(rgb8, tmp_path, capsys):
    src, data = rgb8
    out = tmp_path / "out.png"
    code, _, _ = run_cli(["train", src, "-o", out, *FAST, "--kernel-out", tmp_path / "k.tif"], capsys)
    assert code == 0
    sr = np.asarray(Image.open(out))
    assert sr.shape == (2 * data.shape[0], 2 * data.shape[1], 3) and sr.dtype == np.uint8
    assert tifffile.imread(tmp_path / "k.tif").shape == (13, 13)


def test_stack_with_axes_and_plane(tmp_path, texture, capsys):
    src = tmp_path / "stack.npy"
    np.save(src, np.stack([texture, texture * 2]).astype(np.float32))
    out = tmp_path / "stack_x2.npy"
    code, _, err = run_cli(["train", src, "-o", out, *FAST, "--axes", "ZYX", "--plane", "1"], capsys)
    assert code == 0, err
    assert np.load(out).shape == (2, 384, 400)


def test_known_kernel(grey16, tmp_path, capsys):
    from dualsr.kernel import gaussian_kernel

    src, _ = grey16
    kpath = tmp_path / "psf.npy"
    np.save(kpath, gaussian_kernel(11, 2.0, 1.0, centre=5.0))
    code, _, err = run_cli(["train", src, "-o", tmp_path / "o.tif", *FAST, "--known-kernel", kpath], capsys)
    assert code == 0, err


def _errors(tmp_path, grey16, texture):
    src, _ = grey16
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((100, 100), np.float32))
    nan = tmp_path / "nan.npy"
    bad = np.zeros((200, 200), np.float32)
    bad[5, 5] = np.nan
    np.save(nan, bad)
    stack = tmp_path / "stack.npy"
    np.save(stack, np.zeros((3, 200, 200), np.float32))
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(src.read_bytes()[:300])
    notimg = tmp_path / "notes.txt"
    notimg.write_text("hello")
    kbad = tmp_path / "kbad.npy"
    np.save(kbad, np.zeros((3, 3, 3)))
    out = tmp_path / "out.tif"
    return [
        (["train", tmp_path / "missing.tif", "-o", out], "no such file"),
        (["train", notimg, "-o", out], "unsupported file type"),
        (["train", truncated, "-o", out], "cannot read"),
        (["train", src, "-o", tmp_path / "nodir" / "o.tif"], "does not exist"),
        (["train", src, "-o", src], "overwrite"),
        (["train", src, "-o", tmp_path / "o.bmp"], "unsupported file type"),
        (["train", src, "-o", tmp_path], "unsupported file type"),
        (["train", small, "-o", out], "at least 148x148"),
        (["train", nan, "-o", out], "NaN"),
        (["train", stack, "-o", out], "--axes"),
        (["train", stack, "-o", out, "--axes", "ZYXC"], "name 4 dimensions"),
        (["train", stack, "-o", out, "--axes", "ZYX", "--plane", "7"], "does not exist"),
        (["train", src, "-o", out, "--scale", "3"], "scale 3"),
        (["train", src, "-o", out, "--iterations", "0"], "at least 1"),
        (["train", src, "-o", out, "--known-kernel", kbad], "2D"),
        (["train", src, "-o", out, "--kernel-out", tmp_path / "k.png"], "unsupported file type"),
        (["train", src, "-o", out, "--history-out", tmp_path / "h.txt"], "unsupported file type"),
        (["demo", "-o", src], "not a folder"),
    ] + ([] if torch.cuda.is_available() else [(["train", src, "-o", out, "--device", "cuda"], "no CUDA device")])


def test_every_error_is_one_line_exit_2_and_writes_nothing(tmp_path, grey16, texture, capsys):
    for args, words in _errors(tmp_path, grey16, texture):
        before = set(tmp_path.rglob("*"))
        code, stdout, err = run_cli(args, capsys)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert words in err, (words, err)
        assert "Traceback" not in err
        assert set(tmp_path.rglob("*")) == before, args


def test_usage_errors_are_one_line_in_a_real_process(tmp_path):
    for args in (["train"], ["frobnicate"], ["train", "x.tif", "-o", "y.tif", "--preset", "slow"]):
        p = subprocess.run([sys.executable, "-m", "dualsr.cli", *args], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_help_explains_every_option():
    p = subprocess.run(
        [sys.executable, "-m", "dualsr.cli", "train", "--help"], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0
    for option in (
        "--preset",
        "--iterations",
        "--seed",
        "--device",
        "--kernel-out",
        "--known-kernel",
        "--axes",
        "--plane",
    ):
        assert option in p.stdout


def test_demo_writes_image_kernel_and_comparison(tmp_path, capsys):
    code, stdout, err = run_cli(["demo", "-o", tmp_path / "demo", "--iterations", "2"], capsys)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert names == ["sample_comparison.png", "sample_kernel.npy", "sample_x2.tif"]
    assert tifffile.imread(tmp_path / "demo" / "sample_x2.tif").shape == (512, 512)
    assert "PSNR" in stdout
