"""The paper's evaluation protocol (Table 1, Table 2) as a resumable benchmark: the runs.

:func:`run_bench` runs every method (:mod:`dualsr.evaluation.methods`) on every image of a set
(:mod:`dualsr.evaluation.sets`) and keeps one JSON per (image, method) under ``OUT/runs/``, skipping
those already there with the same settings; :mod:`dualsr.evaluation.report` turns them into tables
and figures.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.evaluation.methods import BenchSettings, method_spec, run_method
from dualsr.evaluation.metrics import kernel_error, sr_metrics, to_y
from dualsr.evaluation.sets import Case, image_axes, image_suffix, write_json
from dualsr.io.files import ImageFile, write_image
from dualsr.noise.denoise import require_denoiser


def evaluate(case: Case, sr: np.ndarray, kernel: np.ndarray | None) -> dict[str, Any]:
    """The paper's metrics (Y, shaved by the scale) and the kernel error where both are known."""
    scores = sr_metrics(sr, case.hr, case.scale, case.data_range)
    scores["overshoot"] = overshoot(sr, case.hr, case.data_range)
    if kernel is not None and case.kernel is not None:
        scores.update(kernel_error(kernel, case.kernel))
    return scores


def overshoot(sr: np.ndarray, hr: np.ndarray, data_range: float, radius: int = 2) -> float:
    """Halo/ringing measure: mean Y excess (grey levels of 255) beyond HR's local range.

    At each pixel, how far the result goes above the largest or below the smallest HR
    value within ``radius`` pixels. A faithful result (even a blurry one) scores near 0;
    halos and ringing along edges score high even when the PSNR improves.
    """
    a = to_y(sr, data_range)
    b = to_y(hr, data_range)
    size = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(b, (size, size))
    hi, lo = windows.max(axis=(-1, -2)), windows.min(axis=(-1, -2))
    a = a[radius:-radius, radius:-radius]
    excess = np.maximum(a - hi, 0) + np.maximum(lo - a, 0)
    return float(excess.mean())


def run_dir(out: Path, case: str) -> Path:
    return out / "runs" / case


def load_entry(out: Path, case: str, method: str) -> dict[str, Any] | None:
    path = run_dir(out, case) / f"{method}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_bench(
    cases: list[Case],
    methods: list[str],
    out: str | Path,
    settings: BenchSettings,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> list[dict[str, Any]]:
    """Run ``methods`` (outer loop) on ``cases``; one JSON per pair, finished pairs skipped.

    Methods outside, images inside: an interrupted run has every image for the first
    methods rather than every method for the first images.
    """
    out = Path(out)
    specs = {m: method_spec(m) for m in methods}  # every name checked before the first run
    for denoiser in {s.denoiser for s in specs.values()} - {None}:
        require_denoiser(denoiser)  # a missing package is said before hours of other methods
    entries = []
    todo = [(m, c) for m in methods for c in cases]
    for i, (method, case) in enumerate(todo, 1):
        signature = settings.signature(method)
        old = load_entry(out, case.name, method)
        if old is not None and old.get("settings") == signature:
            entries.append(old)
            log(f"[{i}/{len(todo)}] {case.name} {method}: done before, skipped")
            continue
        if specs[method].known_kernel and case.kernel is None:
            log(f"[{i}/{len(todo)}] {case.name} {method}: no true kernel, skipped")
            continue
        log(f"[{i}/{len(todo)}] {case.name} {method}: running")
        sr, kernel, facts = run_method(case, method, settings, log)
        entry = {"case": case.name, "method": method, "settings": signature, **facts, **evaluate(case, sr, kernel)}
        folder = run_dir(out, case.name)
        folder.mkdir(parents=True, exist_ok=True)
        write_image(folder / f"{method}{image_suffix(sr)}", ImageFile(sr, image_axes(sr)))
        if kernel is not None:
            np.save(folder / f"{method}_kernel.npy", kernel)
        write_json(folder / f"{method}.json", entry)  # last: a JSON means the files are there
        entries.append(entry)
        k = f", kernel max err {entry['kernel_max_rel']:.0%} of peak" if "kernel_max_rel" in entry else ""
        log(
            f"[{i}/{len(todo)}] {case.name} {method}: PSNR {entry['psnr']:.2f} dB, SSIM {entry['ssim']:.4f}"
            f"{k} ({entry['seconds']:.0f} s)"
        )
    return entries


def machine() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


__all__ = ["evaluate", "load_entry", "machine", "overshoot", "run_bench", "run_dir"]
