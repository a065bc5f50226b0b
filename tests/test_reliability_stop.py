"""Stop, crash, resume (issue 6, area 4).

Ctrl-C (CLI) and Stop (widget) end training after the current step, keep the result
so far and leave no half-written file; a second Ctrl-C writes nothing. A training step
or an inference tile that runs out of (GPU) memory changes nothing: training keeps the
last finished step and says why, inference retries in smaller tiles, then on the CPU.
The same seed on the same device gives the same result.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dualsr
import dualsr.engine.loop
import dualsr.paper.step
from conftest import run_cli, textured
from dualsr.errors import Cancelled, DualSRInputError
from dualsr.inference.tiling import cpu_fallback, tiled_upsample
from dualsr.paper.networks import GeneratorUp
from dualsr.runtime.onnx_runtime import OnnxUpsampler
from plugin_helpers import TINY, TRAIN, errors_since, open_widget


def _start(tmp_path, texture):
    src = tmp_path / "in.npy"
    np.save(src, texture.astype(np.float32))
    out = tmp_path / "out.npy"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dualsr.cli", "train", str(src), "-o", str(out), "--iterations", "3000"]
        + ["--onnx", str(tmp_path / "m.onnx")],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stderr.readline()  # the first progress line: training has started
    assert "training" in line, line
    return proc, out


def test_one_interrupt_saves_the_result_and_a_working_onnx_model_so_far(tmp_path, texture):
    proc, out = _start(tmp_path, texture)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    steps = int(stdout.split("stopped at step ")[1].split()[0])
    result = np.load(out)
    assert result.shape == (384, 400)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "m.onnx", "out.npy"]
    model = OnnxUpsampler(tmp_path / "m.onnx")  # a real onnxruntime session on the file
    assert model.metadata["steps"] == steps and 1 <= steps < 3000
    assert np.abs(model.upsample(texture.astype(np.float32)) - result).max() < 1e-3


def test_two_interrupts_abort_and_write_nothing(tmp_path, texture):
    proc, out = _start(tmp_path, texture)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130
    assert "nothing was written" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_same_seed_same_result_and_other_seed_differs(texture, tiny_config):
    a = dualsr.train(texture.astype(np.float32), config=tiny_config, seed=1)
    b = dualsr.train(texture.astype(np.float32), config=tiny_config, seed=1)
    c = dualsr.train(texture.astype(np.float32), config=tiny_config, seed=2)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.kernel, b.kernel)
    assert not np.array_equal(a.image, c.image)


def test_stop_returns_the_result_so_far(texture, tiny_config):
    calls = []
    r = dualsr.train(
        texture.astype(np.float32),
        config=tiny_config.with_(iterations=50),
        progress=calls.append,
        should_stop=lambda: len(calls) >= 1,
    )
    assert r.stopped and r.steps == 1 and r.image.shape == (384, 400)  # progress comes at step 1, then every 10


def test_progress_and_cancellation_between_tiles(onnx_model):
    _, path = onnx_model("grey16")
    up = OnnxUpsampler(path)
    image = textured((64, 64)).astype(np.float32)
    seen = []
    up.upsample(np.stack([image, image]), axes="ZYX", tile=32, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (8, 8) and [d for d, _ in seen] == list(range(1, 9))
    calls = []
    with pytest.raises(Cancelled):
        up.upsample(image, tile=16, progress=lambda d, t: calls.append(d), should_stop=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_a_failing_write_leaves_no_partial_file(tmp_path):
    class Boom(Exception):
        pass

    from dualsr.io.files import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(tmp_path / "out.tif", write)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.gui
@pytest.mark.usefixtures("single_torch_thread")
def test_stop_ends_training_and_keeps_the_result_so_far(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image = textured((96, 100), seed=1)
    viewer.add_image(image, name="img")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 100_000
    widget.onnx.value = tmp_path / "m.onnx"
    widget.start()
    qtbot.waitUntil(lambda: len(widget.loss_plot.steps) > 0, timeout=60_000)  # the first losses (step 1)
    assert widget.stop_button.enabled and not widget.run_button.enabled
    widget.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)

    info = viewer.layers["img ×2 (DualSR)"].metadata["dualsr"]
    assert info["stopped"] and 1 <= info["steps"] < 100
    assert "stopped early" in widget.status.value
    assert widget.run_button.enabled and not widget.stop_button.enabled  # usable again
    # whole layers and one whole model file, nothing half-made
    names = ["img", "img ×2 (bicubic)", "img ×2 (DualSR)", "img kernel (DualSR)", "img doubt (DualSR)"]
    assert [lay.name for lay in viewer.layers] == names
    sr = viewer.layers["img ×2 (DualSR)"].data
    assert sr.shape == (192, 200) and np.isfinite(sr).all()
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    model = OnnxUpsampler(tmp_path / "m.onnx")
    assert model.metadata["steps"] == info["steps"]
    assert np.abs(model.upsample(image) - sr).max() < 1e-3


@pytest.mark.gui
@pytest.mark.usefixtures("single_torch_thread")
def test_closing_the_viewer_ends_a_running_training(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(textured((96, 100), seed=2), name="img")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.iterations.value = 100_000
    widget.start()
    runner = widget.runner
    qtbot.waitUntil(lambda: runner.phase == "training", timeout=60_000)
    viewer.close()
    qtbot.waitUntil(lambda: not runner.running, timeout=60_000)
    assert runner.controls.cancel.is_set()


# --- out of memory: no GPU here, so the error a CUDA allocation raises
# (torch.OutOfMemoryError) is injected where a real one would come from ---


def _loss_failing_at(monkeypatch, call: int, name: str = "lsgan") -> None:
    """Make the ``call``-th ``name`` loss raise torch.OutOfMemoryError, as a full GPU would."""
    calls = itertools.count()
    real = getattr(dualsr.paper.step.losses, name)

    def failing(*args, **kwargs):
        if next(calls) == call:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(dualsr.paper.step.losses, name, failing)


def test_out_of_memory_in_a_step_keeps_the_last_finished_step(monkeypatch, texture, tiny_config):
    """An OOM in step 4's discriminator pass -- after G's backward, where the weights would
    already have moved had the updates not come last -- gives exactly the 3-step result."""
    image, config = texture.astype(np.float32), tiny_config.with_(iterations=6)
    polls = itertools.count()
    reference = dualsr.train(image, config=config, should_stop=lambda: next(polls) >= 3)
    _loss_failing_at(monkeypatch, 3 * 3 + 1)  # 3 LSGAN losses per step; the 2nd of step 4
    r = dualsr.train(image, config=config)
    assert r.stopped and r.steps == 3 == reference.steps
    assert "out of memory in training step 4; kept the result of step 3" in r.stop_reason
    assert np.array_equal(r.image, reference.image) and np.array_equal(r.kernel, reference.kernel)
    assert r.summary()["stop_reason"] == r.stop_reason


def test_out_of_memory_in_the_first_step_is_a_clear_error(monkeypatch, texture, tiny_config):
    _loss_failing_at(monkeypatch, 0)
    with pytest.raises(
        DualSRInputError, match="ran out of memory in training step 1; close other programs to free memory"
    ):
        dualsr.train(texture.astype(np.float32), config=tiny_config)


def test_the_gpu_message_names_the_fixes():
    text = dualsr.engine.loop.out_of_memory_stop(torch.device("cuda"), 12)
    assert text == (
        "CUDA ran out of memory in training step 13; kept the result of step 12; to train fully, "
        "close other GPU programs or train on the CPU (--device cpu)"
    )


def test_the_cli_saves_what_training_did_before_memory_ran_out(monkeypatch, tmp_path, texture, capsys):
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, texture.astype(np.float32))
    _loss_failing_at(monkeypatch, 3 + 1)  # in step 2
    code, stdout, err = run_cli(["train", src, "-o", out, "--iterations", "5"], capsys)
    assert code == 3 and "stopped at step 1" in stdout
    assert err.strip().splitlines()[-1] == (
        "dualsr: warning: CPU ran out of memory in training step 2; kept the result of step 1; "
        "to train fully, close other programs to free memory"
    )
    assert np.load(out).shape == (384, 400) and sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "out.npy"]


@pytest.mark.gui
@pytest.mark.usefixtures("single_torch_thread")
def test_the_widget_keeps_the_last_step_and_warns_when_memory_runs_out(make_napari_viewer, qtbot, monkeypatch):
    """The injected out-of-memory error in step 3: the layers of step 2 and one warning."""
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    viewer.add_image(textured((96, 100), seed=3), name="img")
    widget = open_widget(viewer, TRAIN)
    widget.config_overrides = TINY
    widget.acquisition.value = "gaussian-blur"  # the spectral estimate, uncertain on this texture: its warning too
    widget.iterations.value = 20
    _loss_failing_at(monkeypatch, 2 * 2, "cycle_l1")  # 2 cycle losses per step: step 3
    start = len(notification_manager.records)
    widget.start()
    qtbot.waitUntil(lambda: not widget.runner.running, timeout=60_000)
    reason = "CPU ran out of memory in training step 3; kept the result of step 2; to train fully, close other programs"
    warnings = errors_since(start, "warning")
    assert warnings[0] == f"DualSR: {reason} to free memory"
    meta = viewer.layers["img ×2 (DualSR)"].metadata["dualsr"]
    # this texture's spectrum is not a natural image's; two steps' detail does not hold up one scale down
    expected = [f"DualSR: {meta[k]}" for k in ("kernel_warning", "detail_warning") if k in meta]
    assert warnings[1:] == expected and len(expected) >= 1
    assert errors_since(start) == []
    info = viewer.layers["img ×2 (DualSR)"].metadata["dualsr"]
    assert info["stopped"] and info["steps"] == 2 and info["stop_reason"].startswith(reason)
    assert len(viewer.layers) == 5 and "stopped early" in widget.status.value  # with bicubic x2 and doubt


with torch.random.fork_rng():  # the same weights whatever ran before (the outputs' size sets the rounding)
    torch.manual_seed(0)
    _MODEL = GeneratorUp(channels=1, layers=8, features=4).eval()


def _same_but_rounding(split: np.ndarray, whole: np.ndarray) -> bool:
    """Equal up to float32 rounding, which the order of a convolution's sums sets: relative to the values'
    size (an untrained G_UP's outputs reach several units; a busy machine's kernels may sum in another order)."""
    return float(np.abs(split - whole).max()) <= 1e-5 * max(1.0, float(np.abs(whole).max()))


def _small_memory(limit: int):
    """An upsampler that, like a nearly full GPU, fails on batches over ``limit`` pixels."""

    def run(batch: np.ndarray) -> np.ndarray:
        if batch.size > limit:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {batch.nbytes * 64} bytes")
        with torch.inference_mode():
            return _MODEL(torch.from_numpy(batch)).numpy()

    return run


@pytest.mark.parametrize("planes, size, tile", [(1, (150, 130), None), (1, (150, 130), 100), (6, (40, 50), 512)])
def test_out_of_memory_on_a_tile_retries_smaller_and_the_result_is_unchanged(planes, size, tile):
    """The injected error stands for a CUDA OOM: smaller batches, then smaller tiles, same pixels."""
    data = np.random.default_rng(1).random((planes, 1, *size), dtype=np.float32)
    whole = tiled_upsample(_small_memory(10**9), data, tile=None)
    with pytest.warns(RuntimeWarning, match="out of memory") if planes == 1 else _no_warning():
        split = tiled_upsample(_small_memory(64 * 64), data, tile=tile)
    assert _same_but_rounding(split, whole)


@settings(max_examples=15, deadline=None)
@given(st.integers(33, 120), st.integers(33, 120), st.integers(1, 3), st.integers(48, 90))
def test_splitting_on_out_of_memory_never_changes_a_pixel(h, w, planes, side):
    """Whatever the size, with memory (injected) for a 32-pixel tile and its 8-pixel
    margins (48^2) or more, split tiles give exactly the one-piece result."""
    data = np.random.default_rng(h * w).random((planes, 1, h, w), dtype=np.float32)
    whole = tiled_upsample(_small_memory(10**9), data, tile=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        split = tiled_upsample(_small_memory(side * side), data, tile=None)
    assert _same_but_rounding(split, whole)


def test_the_cli_explains_when_even_small_tiles_do_not_fit(monkeypatch, tmp_path, onnx_model, capsys):
    """onnxruntime failing every allocation (injected): warnings and the error, one line each."""
    _, model = onnx_model("grey16")
    src, out = tmp_path / "in.npy", tmp_path / "out.tif"
    np.save(src, textured((40, 40)).astype(np.float32))

    def fail(self, batch):
        raise RuntimeError("Failed to allocate memory for requested buffer of size 123456789")

    monkeypatch.setattr(OnnxUpsampler, "_run", fail)
    code, _, err = run_cli(["apply", model, src, "-o", out, "--device", "cpu"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("dualsr: error: out of memory while super-resolving, even in 32-pixel")
    assert all(line.startswith("dualsr: warning: out of memory on a") for line in lines[:-1] if "applying" not in line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_out_of_memory_even_in_small_tiles_moves_to_the_cpu_or_explains():
    """``cpu_fallback`` with an attempt that fails on the GPU (injected) and works on the CPU."""
    tried = []

    def attempt(device: str) -> str:
        tried.append(device)
        if device != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory")
        return "done on " + device

    with pytest.warns(RuntimeWarning, match="cuda ran out of memory while super-resolving; running on the CPU"):
        assert cpu_fallback(attempt, "cuda") == "done on cpu"
    assert tried == ["cuda", "cpu"]
    with pytest.raises(DualSRInputError, match="out of memory while super-resolving, even in 32-pixel tiles"):
        cpu_fallback(lambda device: attempt("cuda"), "cpu")
    with pytest.raises(Cancelled):  # anything else passes through untouched
        cpu_fallback(lambda device: (_ for _ in ()).throw(Cancelled("stop")), "cuda")


def test_onnxruntime_allocation_failures_on_every_tile_end_in_one_line(onnx_model, monkeypatch):
    """onnxruntime reports a failed allocation as a RuntimeException with this text (injected)."""
    _, path = onnx_model("grey16")
    up = OnnxUpsampler(path, device="cpu")

    def fail(batch):
        raise RuntimeError("Failed to allocate memory for requested buffer of size 123456789")

    monkeypatch.setattr(up, "_run", fail)
    with pytest.warns(RuntimeWarning), pytest.raises(DualSRInputError, match="out of memory while super-resolving"):
        up.upsample(textured((80, 80)).astype(np.float32), tile=64)
