"""Training speed: the reference-style baseline step vs the engine's step, and end to end.

    PYTHONPATH=src python benchmarks/speed.py                  # both parts, prints a table
    PYTHONPATH=src python benchmarks/speed.py --part step --steps 2 --repeats 5
    PYTHONPATH=src python benchmarks/speed.py --part e2e

Part 1 (``step``) builds, in one process, the baseline of ``baseline_reference.py`` and the
engine's training loop (``dualsr.paper.step.DualSRStep``) on the same image -- the bundled grey
microscopy sample and an RGB image (scikit-image's astronaut, degraded x2) -- and times them
*interleaved*: each repeat runs ``--steps`` steps of every candidate in turn, and the
median over repeats is reported, so that load from other processes hits all candidates
alike. Extra engine settings (``--candidate name:key=value,...``) join the same rotation.
Peak memory is the growth of the maximum resident set size over setup + steps, measured
in a fresh subprocess per candidate (torch allocations are invisible to tracemalloc).

Part 2 (``e2e``) runs the ``dualsr`` command line on the bundled sample: ``--preset fast``
in full, and ``--preset paper`` as two timed slices (``--iterations`` N1 and N2, the same
per-step work; the schedule only changes learning rates) extrapolated linearly to 3000
steps, unless ``--full-paper`` asks for the whole run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as ``import dualsr`` does, before torch loads

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline_reference import ReferenceStep  # noqa: E402

from dualsr.config import DualSRConfig, preset  # noqa: E402
from dualsr.engine.loop import make_step  # noqa: E402
from dualsr.io.normalize import fit_normalization  # noqa: E402

PAPER_STEPS = 3000


# --- inputs ------------------------------------------------------------------------


def load_image(kind: str) -> np.ndarray:
    """A normalised ``(C, H, W)`` training plane: ``grey`` (the sample) or ``rgb``."""
    if kind == "grey":
        from dualsr.io.sample import sample_lr

        lr = sample_lr().data
        return fit_normalization(lr).apply(lr)[None]
    if kind == "rgb":
        from skimage import data

        from dualsr.evaluation.degrade import degrade
        from dualsr.paper.kernel import gaussian_kernel

        hr = data.astronaut().astype(np.float64) / 255.0
        lr = np.clip(degrade(hr, gaussian_kernel(13, 1.2, 3.2, angle=0.9)), 0, 1)
        return np.ascontiguousarray(np.moveaxis(lr, -1, 0)).astype(np.float32)
    raise SystemExit(f"unknown image kind {kind!r}")


def parse_candidate(text: str) -> tuple[str, dict[str, object]]:
    """``name:key=value,key=value`` -> (name, overrides)."""
    name, _, rest = text.partition(":")
    overrides: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, _, raw = item.partition("=")
        value: object = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                pass
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        overrides[key] = value
    return name, overrides


def make_stepper(name: str, overrides: dict[str, object], image: np.ndarray):  # noqa: ANN201
    """A callable ``step(i)`` for the baseline or an engine configuration."""
    config = DualSRConfig().with_(**overrides)
    if name == "baseline":
        ref = ReferenceStep(image, config)
        return ref.step
    torch.manual_seed(config.seed)
    loop = make_step(image, config, torch.device("cpu"), None)
    return loop.step


# --- part 1: steps -----------------------------------------------------------------


def time_steps(candidates: list[tuple[str, dict]], image: np.ndarray, steps: int, repeats: int, warmup: int) -> dict:
    steppers = {name: make_stepper(name, ov, image) for name, ov in candidates}
    counters = dict.fromkeys(steppers, 0)
    for name, step in steppers.items():
        for _ in range(warmup):
            step(counters[name])
            counters[name] += 1
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(repeats):
        for name, step in steppers.items():
            start = time.perf_counter()
            for _ in range(steps):
                step(counters[name])
                counters[name] += 1
            times[name].append((time.perf_counter() - start) / steps)
    return {name: t for name, t in times.items()}


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Unlike ``getrusage``'s ``ru_maxrss``, which
    Linux carries over ``execve`` from the parent, it starts afresh in a new program."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(name: str, overrides: dict, kind: str, steps: int) -> dict:
    """Run in a fresh process: peak RSS growth (MiB) over setup + ``steps`` steps."""
    image = load_image(kind)
    before = peak_rss_mib()
    step = make_stepper(name, overrides, image)
    for i in range(steps):
        step(i)
    after = peak_rss_mib()
    return {"peak_rss_mib": round(after, 1), "growth_mib": round(after - before, 1)}


def measure_memory(name: str, overrides: dict, kind: str, threads: int) -> dict:
    spec = f"{name}:" + ",".join(f"{k}={v}" for k, v in overrides.items())
    cmd = [sys.executable, __file__, "--memory-probe", spec, "--image", kind, "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- part 2: end to end ------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def dualsr_command() -> list[str]:
    exe = shutil.which("dualsr")
    return [exe] if exe else [sys.executable, "-m", "dualsr.cli"]


def run_cli(args: list[str]) -> float:
    sample = str(files("dualsr") / "data" / "sample_lr.tif")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = dualsr_command() + ["train", sample, "-o", str(Path(tmp) / "x2.tif"), "--device", "cpu", *args]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def end_to_end(slices: tuple[int, int], full_paper: bool, fast_iterations: int | None = None) -> dict:
    result: dict[str, object] = {}
    fast = preset("fast", iterations=fast_iterations)
    steps = ["--iterations", str(fast_iterations)] if fast_iterations else []
    result["fast_seconds"] = round(run_cli(["--preset", "fast", *steps]), 1)
    result["fast_iterations"] = fast.iterations
    if full_paper:
        result["paper_seconds"] = round(run_cli(["--preset", "paper"]), 1)
        result["paper_projected"] = False
    else:
        n1, n2 = slices
        t1 = run_cli(["--preset", "paper", "--iterations", str(n1)])
        t2 = run_cli(["--preset", "paper", "--iterations", str(n2)])
        per_step = (t2 - t1) / (n2 - n1)
        fixed = t1 - per_step * n1
        result.update(
            paper_slices={str(n1): round(t1, 1), str(n2): round(t2, 1)},
            paper_seconds_per_step=round(per_step, 3),
            paper_fixed_seconds=round(fixed, 1),
            paper_seconds=round(fixed + per_step * PAPER_STEPS, 1),
            paper_projected=True,
        )
    return result


# --- report ------------------------------------------------------------------------


def machine() -> dict[str, object]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["step", "e2e", "all"], default="all")
    p.add_argument("--images", default="grey,rgb", help="comma list of grey, rgb")
    p.add_argument("--steps", type=int, default=2, help="steps per timed block")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per candidate (median)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default, all cores)")
    p.add_argument("--candidate", action="append", default=[], metavar="NAME:KEY=VALUE,...")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--slices", default="20,60", help="paper-preset slices (iterations) for the projection")
    p.add_argument("--full-paper", action="store_true", help="run --preset paper in full instead of projecting")
    p.add_argument("--fast-iterations", type=int, help="end to end: the fast run's steps (default: the preset's)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--memory-probe", help=argparse.SUPPRESS)
    p.add_argument("--image", default="grey", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_probe:
        name, ov = parse_candidate(args.memory_probe)
        print(json.dumps(memory_probe(name, ov, args.image, 3)))
        return

    report: dict[str, object] = {"machine": machine(), "args": vars(args)}
    print(json.dumps(report["machine"]))
    candidates = [("baseline", {}), ("engine", {})] + [parse_candidate(c) for c in args.candidate]
    if args.part in ("step", "all"):
        rows = []
        for kind in args.images.split(","):
            image = load_image(kind)
            times = time_steps(candidates, image, args.steps, args.repeats, args.warmup)
            base = statistics.median(times["baseline"])
            for name, ov in candidates:
                med = statistics.median(times[name])
                row = {
                    "image": f"{kind} ({image.shape[0]} ch)",
                    "candidate": name,
                    "overrides": ov,
                    "s_per_step": round(med, 3),
                    "steps_per_s": round(1 / med, 3),
                    "speedup": round(base / med, 2),
                    "projected_3000_min": round(med * PAPER_STEPS / 60, 1),
                    "spread": [round(min(times[name]), 3), round(max(times[name]), 3)],
                }
                if not args.no_memory:
                    row.update(measure_memory(name, ov, kind, args.threads or torch.get_num_threads()))
                rows.append(row)
                print(json.dumps(row), flush=True)
        report["steps"] = rows
        print()
        print("| image | candidate | s/step (median) | steps/s | vs baseline | 3000 steps | peak RSS growth |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            mem = f"{r['growth_mib']} MiB" if "growth_mib" in r else "-"
            print(
                f"| {r['image']} | {r['candidate']} | {r['s_per_step']} | {r['steps_per_s']} | "
                f"{r['speedup']}x | {r['projected_3000_min']} min | {mem} |"
            )
    if args.part in ("e2e", "all"):
        n1, n2 = (int(v) for v in args.slices.split(","))
        e2e = end_to_end((n1, n2), args.full_paper, args.fast_iterations)
        report["end_to_end"] = e2e
        print(json.dumps(e2e), flush=True)
    report["machine"]["load_average_end"] = os.getloadavg()  # type: ignore[index]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
