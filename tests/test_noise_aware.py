"""The noise model of training (dualsr.noise.model): the decision, the synthetic noise, its effect."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import dead_leaves, one_thread
from dualsr import bicubic_x2, train
from dualsr.config import preset
from dualsr.engine.loop import make_step
from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import degrade
from dualsr.noise.model import add_noise, clean_copy, plan_noise, unit_noise
from dualsr.paper.kernel import gaussian_kernel

KERNEL = gaussian_kernel(13, 1.2, 2.5, 0.5)


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    """A clean HR scene and its x2 LR (the model's ``(HR * k)↓2``), in [0.05, 0.95].

    Discs of radius 3 px and more: the 1-px discs of the default scene are texture finer than
    the noise threshold can tell from noise (they read 1.9 %).
    """
    hr = 0.05 + 0.9 * dead_leaves(384, seed=2, r_min=3.0)
    return hr, degrade(hr, KERNEL, 2)


def photons(lr: np.ndarray, peak: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(lr * peak).astype(np.float32) / peak


def test_auto_switches_on_for_noisy_and_off_for_clean_images(scene):
    _, lr = scene
    clean, noisy = plan_noise("auto", lr[None]), plan_noise("auto", photons(lr, 100)[None])
    assert not clean.active and clean.reason.startswith("noise model off (auto, threshold 1.2 %): noise ")
    assert noisy.active and noisy.reason.startswith("noise model on (auto, threshold 1.2 %): noise ")
    assert plan_noise("on", lr[None]).active and "forced" in plan_noise("on", lr[None]).reason
    assert not plan_noise("off", photons(lr, 100)[None]).active
    with pytest.raises(DualSRInputError, match="noise mode"):
        plan_noise("sometimes", lr[None])


def test_the_synthetic_noise_has_the_measured_statistics(scene):
    _, lr = scene
    noisy = photons(lr, 100)
    estimate = plan_noise("on", noisy[None]).estimate
    gain, offset = unit_noise(estimate, 0.0, 1.0)
    level = torch.full((1, 1, 200, 200), 0.5)
    drawn = add_noise(level, (gain, offset), torch.Generator().manual_seed(0)) - level
    assert abs(drawn.std().item() / np.sqrt(0.5 / 100) - 1) < 0.1  # shot noise of 100 photons at mid-scale


def test_the_clean_copy_is_closer_to_the_truth(scene):
    _, lr = scene
    noisy = photons(lr, 100)[None]
    clean = clean_copy(noisy, plan_noise("on", noisy).estimate)
    assert clean.shape == noisy.shape and clean.dtype == noisy.dtype
    assert np.abs(clean[0] - lr).mean() < 0.75 * np.abs(noisy[0] - lr).mean()


def test_the_loop_reads_noisy_patches_and_learns_towards_clean_ones(scene, tiny_config):
    _, lr = scene
    noisy = photons(lr, 100)[None]
    clean = clean_copy(noisy, plan_noise("on", noisy).estimate)
    with pytest.raises(ValueError, match="both"):
        make_step(noisy, tiny_config, torch.device("cpu"), KERNEL, clean=clean)
    loop = make_step(noisy, tiny_config, torch.device("cpu"), KERNEL, clean=clean, noise=(0.01, 0.0))
    y, x = loop.sampler.patches(0)
    assert y.shape[1] == x.shape[1] == 2  # the noisy channel, then its clean copy
    seen, target = loop._split(x)
    assert torch.equal(seen, x[:, :1]) and torch.equal(target, x[:, 1:])
    lr_t = torch.full((1, 1, 50, 50), 0.5)
    assert abs((loop._seen(lr_t) - lr_t).std().item() - np.sqrt(0.005)) < 0.005
    assert loop.step(0).isfinite().all()


def test_the_noise_model_keeps_the_noise_out_of_the_x2(scene):
    """Same short training on a noisy LR: without the model G_UP amplifies the noise (worse
    than bicubic, and worse with more steps); with it the x2 stays at least as close as bicubic."""
    hr, lr = scene
    noisy = photons(lr, 60, seed=3)
    config = preset("fast", iterations=150, hr_crop=64, lr_crop=32, up_features=16)
    error = {"bicubic": np.abs(bicubic_x2(noisy).astype(np.float64) - hr).mean()}
    with one_thread():
        for mode in ("off", "on"):
            r = train(noisy, config=config.with_(noise=mode), known_kernel=KERNEL)
            error[mode] = np.abs(r.image.astype(np.float64) - hr).mean()
            assert ("noise" in r.summary()) == (mode == "on") and (mode == "off" or r.noise.active)
    assert error["on"] < 0.85 * error["off"] and error["on"] < 1.02 * error["bicubic"]


def test_the_cli_says_what_auto_decided(scene, tmp_path, capsys):
    from conftest import run_cli

    _, lr = scene
    src, out = str(tmp_path / "noisy.npy"), str(tmp_path / "out.npy")
    np.save(src, photons(lr, 100))
    args = ["train", src, "-o", out, "--preset", "fast", "--iterations", "2"]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0 and "dualsr: noise model on (auto, threshold " in stdout and "photons full scale" in stdout
    code, stdout, _ = run_cli([*args, "--noise", "off"], capsys)
    assert code == 0 and "dualsr: noise model" not in stdout  # the paper's noise-free model: nothing to decide


def test_the_denoiser_of_the_clean_copy_is_a_named_setting(scene, tmp_path, capsys):
    """--denoiser picks what makes the clean targets; it is recorded with the result; a wrong name is one line."""
    import json

    import tifffile

    from conftest import run_cli

    _, lr = scene
    src, out = str(tmp_path / "noisy.npy"), tmp_path / "out.tif"
    np.save(src, photons(lr, 100))
    args = ["train", src, "-o", out, "--preset", "fast", "--iterations", "2"]
    code, _, _ = run_cli([*args, "--denoiser", "nlm"], capsys)
    with tifffile.TiffFile(out) as tif:
        assert code == 0 and json.loads(tif.imagej_metadata["Info"])["config"]["denoiser"] == "nlm"
    assert preset("fast").denoiser == "nlm_wiener"  # the default: NLM refined by the Wiener filter
    with pytest.raises(SystemExit) as exit_:  # an argparse usage error
        run_cli([*args, "--denoiser", "magic"], capsys)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--denoiser" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(DualSRInputError, match="denoiser"):
        preset("fast", denoiser="magic")
