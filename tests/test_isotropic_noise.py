"""The isotropic path's noise model: a noisy stack's planes denoised first (dualsr.isotropic.noise)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from scipy import ndimage

import dualsr
from dualsr.cli.main import main
from dualsr.io.normalize import fit_normalization
from dualsr.isotropic.blocks import plan, upsample_block
from dualsr.isotropic.degrade import degrade_axis
from dualsr.isotropic.network import AxisUpsampler
from dualsr.isotropic.noise import denoise_stack, plan_stack_noise
from dualsr.isotropic.profile import named
from dualsr.isotropic.train import TrainSettings
from dualsr.isotropic.volume import apply_both

TINY = TrainSettings(steps=3, batch=2, patch=24, layers=2, features=4)
FACTOR, PHOTONS = 3.0, 200.0


def _object(side: int = 48, z: int = 36) -> np.ndarray:
    """A smooth isotropic object in [0, 1]: blurred blobs."""
    rng = np.random.default_rng(0)
    return ndimage.gaussian_filter((rng.random((z, side, side)) > 0.97).astype(float), 2.0) * 8


def _noisy_stack() -> tuple[np.ndarray, np.ndarray]:
    """(the clean object, its stack acquired along Z at FACTOR with shot noise, uint16)."""
    obj = np.clip(_object(), 0, 1)
    acquired = degrade_axis(obj, 0, FACTOR, named("gaussian", 0.6 * FACTOR))
    counts = np.random.default_rng(1).poisson(acquired * PHOTONS + 5)
    return obj, (counts * 100).astype(np.uint16)


def test_auto_denoises_a_noisy_stack_says_so_and_gets_closer_to_the_object():
    obj, stack = _noisy_stack()
    before = stack.copy()
    voxel = (3.0, 1.0, 1.0)
    runs = {mode: dualsr.isotropic(stack, voxel, fwhm=1.8, noise=mode, settings=TINY) for mode in ("auto", "off")}
    np.testing.assert_array_equal(stack, before)  # the input is left as it was
    auto, off = runs["auto"], runs["off"]
    assert auto.noise.active and "noise model on (auto" in auto.noise.reason
    assert auto.summary()["noise"]["denoiser"] == "nlm_wiener" and off.noise is None and "noise" not in off.summary()
    n = auto.image.shape[0]
    errors = {}
    for mode, result in runs.items():
        scaled = (result.image.astype(float) / 100 - 5) / PHOTONS
        errors[mode] = float(np.mean((scaled[3:-3] - obj[:n][3:-3]) ** 2))
    assert errors["auto"] < 0.5 * errors["off"], errors


def test_a_clean_stack_is_left_alone_and_on_forces_it():
    vol = (np.clip(_object(), 0, 1) * 50000).astype(np.uint16)[::3]
    assert not plan_stack_noise("auto", vol).active
    assert plan_stack_noise("on", vol).active and "forced" in plan_stack_noise("on", vol).reason
    with pytest.raises(dualsr.DualSRInputError, match="noise mode"):
        plan_stack_noise("loud", vol)


def test_noisy_blocks_side_by_side_equal_the_whole_stack():
    """Each block's planes denoised with the denoiser's reach added to its margin: as if denoised whole."""
    _, stack = _noisy_stack()
    estimate = plan_stack_noise("on", stack).estimate
    torch.manual_seed(0)
    model = AxisUpsampler(FACTOR, layers=2, features=4).eval()
    clean = denoise_stack(stack, estimate)
    norm = fit_normalization(clean, "percentile")
    whole = apply_both(model, norm.apply(clean), norm)
    out = np.zeros_like(whole)
    for box in plan(stack.shape[1], stack.shape[2], 20):
        y0, y1, x0, x1 = box
        out[:, y0:y1, x0:x1] = upsample_block(model, lambda s: stack[s], stack.shape, box, norm, noise=estimate)
    assert np.abs(out.astype(int) - whole.astype(int)).max() <= 1  # uint16 rounding of float sums


def test_cli_reports_the_noise_decision(tmp_path, capsys):
    _, stack = _noisy_stack()
    src, out = tmp_path / "in.ome.tif", tmp_path / "out.ome.tif"
    meta = {"axes": "ZYX", "PhysicalSizeZ": 3.0, "PhysicalSizeY": 1.0, "PhysicalSizeX": 1.0}
    tifffile.imwrite(src, stack, ome=True, metadata=meta)
    assert main(["isotropic", str(src), "-o", str(out), "--steps", "2", "--fwhm", "1.8"]) == 0
    assert "dualsr: noise model on (auto" in capsys.readouterr().out
    assert main(["isotropic", str(src), "-o", str(out), "--steps", "2", "--fwhm", "1.8", "--noise", "off"]) == 0
    assert "noise model" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["isotropic", str(src), "-o", str(out), "--noise", "loud"])
    assert exc.value.code == 2


def test_onnx_metadata_says_the_network_learned_from_denoised_planes(tmp_path):
    import json

    import onnx

    _, stack = _noisy_stack()
    result = dualsr.isotropic(stack, (3.0, 1.0, 1.0), fwhm=1.8, settings=TINY)
    path = tmp_path / "iso.onnx"
    result.export_onnx(str(path))
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    noise = json.loads(meta["noise"])
    assert noise["active"] is True and noise["denoiser"] == "nlm_wiener"
