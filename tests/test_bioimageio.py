"""`dualsr export-bioimageio`: the package validates and test-runs with bioimageio.core, offline."""

import io
import os
import zipfile

import numpy as np
import pytest
import tifffile
import yaml

from conftest import textured
from dualsr.cli.main import main
from dualsr.runtime.model_zoo import export_bioimageio


@pytest.fixture(scope="module")
def bioimageio_core():
    os.environ["BIOIMAGEIO_PERFORM_IO_CHECKS"] = "false"  # read when bioimageio.spec is first imported
    return pytest.importorskip("bioimageio.core")


def _passes(core, package):
    summary = core.test_model(str(package))
    problems = [d.name + ": " + str(d.errors) for d in summary.details if d.status == "failed"]
    assert summary.status == "passed", problems


def test_cli_package_validates_and_test_runs(tmp_path, onnx_model, bioimageio_core, capsys):
    result, model = onnx_model("grey16")
    sample = tmp_path / "sample.tif"
    tifffile.imwrite(sample, (textured((150, 140), seed=6) * 20000).astype(np.uint16))
    out = tmp_path / "grey.zip"
    argv = ["export-bioimageio", str(model), str(out), "--sample", str(sample), "--name", "DualSR test scope"]
    assert main(argv) == 0 and "grey.zip" in capsys.readouterr().out
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        rdf = yaml.safe_load(z.read("bioimageio.yaml"))
        kernel = np.load(io.BytesIO(z.read("kernel.npy")))
        test_input = np.load(io.BytesIO(z.read("test_input.npy")))
    assert {"model.onnx", "test_input.npy", "test_output.npy", "cover.png", "documentation.md"} <= names
    assert np.allclose(kernel, result.kernel, atol=1e-6) and test_input.shape == (1, 1, 128, 128)
    y_out = rdf["outputs"][0]["axes"][2]
    assert y_out["scale"] == 0.5 and y_out["size"] == {"tensor_id": "input", "axis_id": "y"}
    assert rdf["weights"]["onnx"]["opset_version"] == 17
    assert rdf["inputs"][0]["preprocessing"][0]["id"] == "scale_range"
    _passes(bioimageio_core, out)


@pytest.mark.parametrize("kind", ["rgb8", "two"])
def test_8bit_and_per_channel_packages_pass(tmp_path, onnx_model, bioimageio_core, kind):
    _, model = onnx_model(kind)
    package = export_bioimageio(model, tmp_path / f"{kind}.zip")
    with zipfile.ZipFile(package) as z:
        pre = yaml.safe_load(z.read("bioimageio.yaml"))["inputs"][0]["preprocessing"][0]
    assert pre["id"] == ("scale_linear" if kind == "rgb8" else "scale_range")
    _passes(bioimageio_core, package)


def test_export_bioimageio_errors_are_one_line(tmp_path, onnx_model, capsys):
    _, model = onnx_model("grey16")
    assert main(["export-bioimageio", str(model), str(tmp_path / "model.tar")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((64, 64, 3), np.uint8), photometric="rgb")
    assert main(["export-bioimageio", str(model), str(tmp_path / "m.zip"), "--sample", str(rgb)]) == 2
    assert "channel" in capsys.readouterr().err and not (tmp_path / "m.zip").exists()


def test_a_guided_package_passes(tmp_path, bioimageio_core):
    """A model trained on a noisy image carries its denoiser (32 LR pixels of reach, more with a
    back-projection): the package's halo says so and the zoo's own test run reproduces its output."""
    import onnx

    import dualsr
    from dualsr.config import preset

    lr = textured((160, 160), seed=4)
    noisy = (np.random.default_rng(0).poisson(lr / lr.max() * 100) * 40).astype(np.uint16)
    config = preset("fast", iterations=2, hr_crop=64, lr_crop=32, up_features=16)
    result = dualsr.train(noisy, config=config)
    assert result.noise.active and config.noise_guide
    model = result.export_onnx(tmp_path / "guided.onnx")
    package = export_bioimageio(model, tmp_path / "guided.zip")
    with zipfile.ZipFile(package) as z:
        axes = yaml.safe_load(z.read("bioimageio.yaml"))["outputs"][0]["axes"]
    margin = int({m.key: m.value for m in onnx.load(model).metadata_props}["tile_margin"])
    assert margin >= 32 and [a.get("halo") for a in axes[2:]] == [2 * margin, 2 * margin]
    _passes(bioimageio_core, package)
