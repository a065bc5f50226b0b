"""Follow-up of ``gpu_check.sh`` on a CUDA machine: what the first check left open.

    PYTHONPATH=src python benchmarks/gpu_followup.py --json out.json     # on a CUDA machine
    PYTHONPATH=src python benchmarks/gpu_followup.py --cpu-only --iterations 4   # test it anywhere

1. Quality on the bundled sample, end to end (``dualsr.train``), for the runs named in
   ``RUNS``: the user's default ``fast`` preset in float32 and bfloat16, and the ``paper``
   preset with cuDNN's TF32 convolutions off and with another seed, to tell TF32 from the
   seed-to-seed spread of the GAN kernel when the first check's paper float32 run came out
   below bicubic (25.86 dB against bf16's 27.93 and bicubic's 27.80).
2. Where a paper step's time goes: the torch profiler over a few steps, GPU-busy time against
   wall time (a step far longer than its kernels is bound by launches and Python).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from gpu_check import log, sample_plane, timed_train  # noqa: E402

from dualsr.config import preset  # noqa: E402
from dualsr.engine.loop import make_step  # noqa: E402

# (preset, TF32 convolutions on?, overrides)
RUNS: list[tuple[str, bool, dict]] = [
    ("fast", True, {}),
    ("fast", True, {"precision": "bfloat16"}),
    ("paper", False, {}),
    ("paper", True, {"seed": 1}),
]


def set_tf32(on: bool) -> None:
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = on


def profile_steps(device: torch.device, warmup: int, steps: int) -> dict:
    """Wall time of ``steps`` paper steps against the time the device was busy."""
    loop = make_step(sample_plane(), preset("paper"), device, None)
    for i in range(warmup):
        loop.step(i)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    start = time.perf_counter()
    with torch.profiler.profile(activities=activities) as prof:
        for i in range(warmup, warmup + steps):
            loop.step(i)
        sync()
    wall = time.perf_counter() - start
    events = prof.key_averages()
    device_us = sum(getattr(e, "self_device_time_total", 0) for e in events)
    launches = sum(e.count for e in events if e.key.startswith(("cudaLaunchKernel", "cuLaunchKernel")))
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    return {
        "steps": steps,
        "wall_ms_per_step_profiled": round(1e3 * wall / steps, 2),
        "device_busy_ms_per_step": round(device_us / 1e3 / steps, 2),
        "kernel_launches_per_step": round(launches / steps, 1),
        "top_self_cpu_ms_per_step": {e.key: round(e.self_cpu_time_total / 1e3 / steps, 3) for e in top},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu-only", action="store_true", help="use the CPU in place of CUDA (tests this script)")
    p.add_argument("--iterations", type=int, help="override each preset's steps (--cpu-only: 4)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    device = "cpu" if args.cpu_only else "cuda"
    iterations = args.iterations or (4 if args.cpu_only else None)
    report: dict = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "runs": []}
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        for name, tf32_on, overrides in RUNS:
            set_tf32(tf32_on)
            row = timed_train(device, iterations, name, **overrides)
            row["tf32"] = tf32_on
            report["runs"].append(row)
            log(f"{name} tf32={tf32_on} {overrides}", json.dumps(row))
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    report["profile"] = profile_steps(torch.device(device), 3 if args.cpu_only else 20, 2 if args.cpu_only else 30)
    log("paper step profile", json.dumps(report["profile"]))
    print("| preset | steps | TF32 | settings | end to end (s) | PSNR vs HR (dB) |\n|---|---|---|---|---|---|")
    for r in report["runs"]:
        print(
            f"| {r['preset']} | {r['iterations']} | {r['tf32']} | {r['overrides'] or '-'} "
            f"| {r['seconds_end_to_end']} | {r['psnr_vs_hr']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0 if all(np.isfinite(r["psnr_vs_hr"]) for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
