"""`dualsr apply` / `train --onnx`: real files in, real files out, one-line errors."""

import numpy as np
import pytest

import dualsr
from conftest import cli_fails, imagej_tif, one_thread, textured
from dualsr.cli.main import main
from dualsr.config import scheduled
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import psnr
from dualsr.io.files import read_image
from dualsr.io.sample import sample_hr
from dualsr.paper.kernel import gaussian_kernel
from dualsr.paper.resize import bicubic_resize_np
from dualsr.runtime.onnx_runtime import OnnxUpsampler


def test_apply_writes_the_x2_image_with_half_the_pixel_size(tmp_path, onnx_model, capsys):
    _, model = onnx_model("grey16")
    image = (textured((60, 70), seed=8) * 30000 + 100).astype(np.uint16)
    out = tmp_path / "out.tif"
    assert main(["apply", str(model), str(imagej_tif(tmp_path / "in.tif", image)), "-o", str(out), "--tile", "32"]) == 0
    assert "applied grey16.onnx" in capsys.readouterr().out
    written = read_image(out)
    assert written.data.shape == (120, 140) and written.data.dtype == np.uint16
    assert written.pixel_size == pytest.approx((0.1, 0.1)) and written.unit == "um"
    assert np.array_equal(written.data, OnnxUpsampler(model).upsample(image, tile=0))


def test_train_onnx_option_saves_a_model_that_reproduces_the_result(tmp_path, capsys):
    image = (textured((150, 150), seed=1) * 50000).astype(np.uint16)
    src, out, model = imagej_tif(tmp_path / "in.tif", image), tmp_path / "x2.tif", tmp_path / "m.onnx"
    with one_thread():
        assert main(["train", str(src), "-o", str(out), "--iterations", "1", "--onnx", str(model)]) == 0
    assert "m.onnx" in capsys.readouterr().out
    meta = OnnxUpsampler(model).metadata
    assert meta["steps"] == 1 and meta["config"]["iterations"] == 1
    again = OnnxUpsampler(model).upsample(image)
    assert np.abs(again.astype(int) - read_image(out).data.astype(int)).max() <= 1
    other = tmp_path / "y.tif"
    cli_fails(capsys, ["train", src, "-o", other, "--onnx", tmp_path / "m.txt"], other, ".onnx")


def test_same_instrument_model_beats_bicubic_on_another_image(tmp_path, capsys):
    """Train on one image (its PSF known, 60 short steps), apply the file to a different one."""
    hr = sample_hr().data.astype(np.float64)
    hr = (hr - hr.min()) / np.ptp(hr)
    kernel = gaussian_kernel(13, 2.5, 1.0, angle=0.6)
    train_hr, test_hr = hr[:256], hr[256:]
    config = scheduled(60, dualsr.DualSRConfig(hr_crop=64, lr_crop=32, up_features=16, dn_features=16, d_features=16))
    with one_thread():
        trained = dualsr.train(degrade(train_hr, kernel).astype(np.float32), config=config, known_kernel=kernel)
    model = trained.export_onnx(tmp_path / "scope.onnx")
    lr = degrade(test_hr, kernel).astype(np.float32)
    np.save(tmp_path / "other.npy", lr)
    assert main(["apply", str(model), str(tmp_path / "other.npy"), "-o", str(tmp_path / "other_x2.npy")]) == 0
    sr = np.load(tmp_path / "other_x2.npy")
    bicubic = psnr(bicubic_resize_np(lr.astype(np.float64), 2.0), test_hr, 1.0)
    assert psnr(sr, test_hr, 1.0) > bicubic + 0.5
