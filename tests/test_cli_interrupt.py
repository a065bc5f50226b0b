"""Ctrl-C during ``dualsr train``: once saves the result so far, twice writes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np


def _start(tmp_path, texture):
    src = tmp_path / "in.npy"
    np.save(src, texture.astype(np.float32))
    out = tmp_path / "out.npy"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dualsr.cli", "train", str(src), "-o", str(out), "--iterations", "3000"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stderr.readline()  # the first progress line: training has started
    assert "training" in line, line
    return proc, out


def test_one_interrupt_stops_and_saves_the_result_so_far(tmp_path, texture):
    proc, out = _start(tmp_path, texture)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "stopped at step" in stdout
    assert np.load(out).shape == (384, 400)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy", "out.npy"]


def test_two_interrupts_abort_and_write_nothing(tmp_path, texture):
    proc, out = _start(tmp_path, texture)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130
    assert "nothing was written" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]
