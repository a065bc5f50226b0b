"""The ``dualsr`` command: happy paths on real files and every error path (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import run_cli

FAST = ["--iterations", "2"]


@pytest.fixture
def rgb8(tmp_path, texture):
    path = tmp_path / "rgb.png"
    data = (np.stack([texture, texture[::-1], texture[:, ::-1]], -1) * 255).astype(np.uint8)
    Image.fromarray(data).save(path)
    return path, data


def test_train_rgb8_png(rgb8, tmp_path, capsys):
    src, data = rgb8
    out = tmp_path / "out.png"
    code, _, _ = run_cli(["train", src, "-o", out, *FAST, "--kernel-out", tmp_path / "k.tif"], capsys)
    assert code == 0
    sr = np.asarray(Image.open(out))
    assert sr.shape == (2 * data.shape[0], 2 * data.shape[1], 3) and sr.dtype == np.uint8
    assert tifffile.imread(tmp_path / "k.tif").shape == (13, 13)


def test_known_kernel(grey16, tmp_path, capsys):
    from dualsr.paper.kernel import gaussian_kernel

    src, _ = grey16
    kpath = tmp_path / "psf.npy"
    np.save(kpath, gaussian_kernel(11, 2.0, 1.0, centre=5.0))
    code, _, err = run_cli(["train", src, "-o", tmp_path / "o.tif", *FAST, "--known-kernel", kpath], capsys)
    assert code == 0, err


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
    assert names == ["sample_comparison.png", "sample_doubt.tif", "sample_kernel.npy", "sample_x2.tif"]
    assert tifffile.imread(tmp_path / "demo" / "sample_x2.tif").shape == (512, 512)
    assert "PSNR" in stdout
