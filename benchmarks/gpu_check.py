"""Check and time the CUDA training path (called by ``benchmarks/gpu_check.sh``).

    PYTHONPATH=src python benchmarks/gpu_check.py                # on a CUDA machine
    PYTHONPATH=src python benchmarks/gpu_check.py --cpu-only     # test this script anywhere

1. Correctness: the same seeded steps on CPU and on CUDA (TF32 off) give the same losses
   and the same trained G_UP within float tolerance; two CUDA runs agree with each other.
   The same for the noisy sample's guided ``fast`` steps (noise model on: the torch denoiser
   inside G_UP, the synthetic noise on G_DN's output).
2. Timing, the user's default first: ``dualsr.train`` with the ``fast`` preset on the bundled
   sample and on the noisy sample (noise model, guided G_UP, back-projection onto the denoised
   copy), end to end, with PSNR vs the HR original (the CPU gives 29.33 / 26.31 dB with this
   script's metric, the demo's: full range, 4 px shaved); then the
   ``paper`` preset (3000 steps) in float32 (cuDNN's default TF32 convolutions) and with
   ``precision=bfloat16``, so the bf16 quality check (within 0.1 dB of float32?) is on record.
3. Levers (unmeasured so far, reported here): G_UP forward+backward on the training shapes,
   eager vs channels-last vs bf16 autocast vs ``torch.compile(mode="reduce-overhead")``
   (CUDA graphs), each only while the time budget allows.

Installs nothing; everything is skipped that would run past ``--budget`` seconds.
``--cpu-only`` runs the same code with CUDA replaced by the CPU and few iterations.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

import dualsr
from dualsr.config import preset
from dualsr.engine.loop import make_step
from dualsr.evaluation.metrics import psnr
from dualsr.io.normalize import fit_normalization
from dualsr.io.sample import sample_hr, sample_kernel, sample_lr, sample_noisy_lr
from dualsr.noise.estimate import estimate_noise
from dualsr.noise.model import clean_copy, unit_noise
from dualsr.paper.step import native_bf16_cpu

START = time.perf_counter()


def elapsed() -> float:
    return time.perf_counter() - START


def log(*parts: object) -> None:
    print(f"[{elapsed():6.1f} s]", *parts, flush=True)


def sample_plane() -> np.ndarray:
    lr = sample_lr().data
    return fit_normalization(lr).apply(lr)[None]


def noisy_loop_inputs() -> tuple[np.ndarray, dict]:
    """The noisy sample as the engine trains on it with the noise model: the normalised plane,
    its clean copy and the noise statistics on that scale (``make_step``'s arguments)."""
    lr = sample_noisy_lr().data
    norm, estimate = fit_normalization(lr), estimate_noise(lr)
    clean = norm.apply(clean_copy(lr[None], estimate))
    noise = unit_noise(estimate, float(norm.low[0]), float(norm.high[0]))
    return norm.apply(lr)[None], {"clean": clean, "noise": noise}


def seeded_steps(device: torch.device, steps: int, guided: bool = False) -> tuple[np.ndarray, torch.Tensor]:
    """Losses of ``steps`` seeded steps and G_UP's output on a fixed probe image: the paper
    preset on the sample, or (``guided``) the fast preset's noise model on the noisy sample."""
    config = preset("fast") if guided else preset("paper")
    plane, extra = noisy_loop_inputs() if guided else (sample_plane(), {})
    kernel = sample_kernel() if guided else None
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        loop = make_step(plane, config, device, kernel, **extra)
    rows = [loop.step(i) for i in range(steps)]
    probe = torch.as_tensor(plane[None, :, :64, :64], device=device)
    with torch.no_grad():
        out = loop.g_up(probe).cpu()
    return torch.stack(rows).cpu().numpy(), out


def check_correctness(device: torch.device, steps: int, guided: bool = False) -> dict:
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        cpu_losses, cpu_out = seeded_steps(torch.device("cpu"), steps, guided)
        dev_losses, dev_out = seeded_steps(device, steps, guided)
        again_losses, again_out = seeded_steps(device, steps, guided)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    rel = np.abs(dev_losses - cpu_losses) / np.maximum(np.abs(cpu_losses), 1e-6)
    row = {
        "steps": steps,
        "loss_max_rel_diff_cpu_vs_device": float(rel.max()),
        "loss_max_rel_diff_first_step": float(rel[0].max()),
        "g_up_max_abs_diff_cpu_vs_device": float((dev_out - cpu_out).abs().max()),
        "device_run_to_run_loss_diff": float(np.abs(again_losses - dev_losses).max()),
        "device_run_to_run_g_up_diff": float((again_out - dev_out).abs().max()),
    }
    # the losses drift apart a little with every step (chaotic training), so the first
    # step is held to float tolerance and the rest to a looser bound
    row["ok"] = bool(
        row["loss_max_rel_diff_first_step"] < 1e-4
        and row["loss_max_rel_diff_cpu_vs_device"] < 1e-2
        and row["g_up_max_abs_diff_cpu_vs_device"] < 1e-2
    )
    return row


def timed_train(
    device: str, iterations: int | None, name: str = "paper", noisy: bool = False, **overrides: object
) -> dict:
    lr, hr = (sample_noisy_lr if noisy else sample_lr)().data, sample_hr().data.astype(np.float64)
    config = preset(name, iterations=iterations, **overrides)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = dualsr.train(lr, config=config, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    row = {
        "preset": name,
        "image": "noisy sample" if noisy else "sample",
        "iterations": config.iterations,
        "overrides": overrides,
        "seconds_end_to_end": round(seconds, 2),
        "seconds_training": round(result.seconds, 2),
        "psnr_vs_hr": round(psnr(result.image, hr, float(hr.max() - hr.min()), shave=4), 3),
    }
    if device.startswith("cuda"):
        row["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
        torch.cuda.reset_peak_memory_stats()
    return row


def gup_levers(device: torch.device, repeats: int, inner: int, budget_left: Callable[[], float]) -> dict:
    from dualsr.paper.networks import GeneratorUp

    torch.manual_seed(0)
    x = torch.rand(2, 1, 64, 64, device=device)
    z = torch.rand(2, 1, 58, 58, device=device, requires_grad=True)

    def pair(model: torch.nn.Module, fwd: Callable, bf16: bool = False, cl: bool = False) -> Callable[[], None]:
        xs, zs = (x, z)
        if cl:
            xs = x.contiguous(memory_format=torch.channels_last)
            zs = z.detach().contiguous(memory_format=torch.channels_last).requires_grad_()

        def run() -> None:
            torch.compiler.cudagraph_mark_step_begin()  # a new training step for CUDA-graph trees
            model.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = fwd(xs).float().abs().mean() + fwd(zs).float().abs().mean()
            loss.backward()

        return run

    def timeit(fn: Callable[[], None]) -> float:
        for _ in range(3 if device.type == "cuda" else 1):
            fn()
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            sync()
            times.append((time.perf_counter() - start) / inner)
        return float(np.median(times))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    g = GeneratorUp(1).to(device)
    g_cl = GeneratorUp(1).to(device).to(memory_format=torch.channels_last)
    out: dict[str, object] = {
        "eager_ms": timeit(pair(g, g)) * 1e3,
        "channels_last_ms": timeit(pair(g_cl, g_cl, cl=True)) * 1e3,
    }
    if device.type == "cuda" or native_bf16_cpu():
        out["bf16_autocast_ms"] = timeit(pair(g, g, bf16=True)) * 1e3
    if budget_left() > 150:
        g_c = GeneratorUp(1).to(device)
        try:
            mode = "reduce-overhead" if device.type == "cuda" else "default"
            compiled = torch.compile(g_c, mode=mode)
            start = time.perf_counter()
            pair(g_c, compiled)()
            sync()
            out["compile_first_call_s"] = round(time.perf_counter() - start, 1)
            out[f"compiled_{mode}_ms"] = timeit(pair(g_c, compiled)) * 1e3
        except Exception as exc:  # noqa: BLE001 -- a failing compile is a result, not a crash
            out["compile_error"] = f"{type(exc).__name__}: {exc}"[:300]
    else:
        out["compile_skipped"] = "time budget"
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-only", action="store_true", help="use the CPU in place of CUDA (tests this script)")
    p.add_argument("--steps", type=int, default=5, help="seeded steps compared CPU vs device")
    p.add_argument("--iterations", type=int, help="override the paper preset's 3000 steps (--cpu-only: 6)")
    p.add_argument("--budget", type=float, default=380, help="seconds; later parts are skipped past it")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    if args.cpu_only:
        device, iterations = torch.device("cpu"), args.iterations or 6
    else:
        if not torch.cuda.is_available():
            print("gpu_check: no CUDA device visible to torch; run with --cpu-only to test the script", file=sys.stderr)
            return 2
        device, iterations = torch.device("cuda"), args.iterations
    budget_left = lambda: args.budget - elapsed()  # noqa: E731
    report: dict[str, object] = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
        "python": platform.python_version(),
    }
    log("environment", json.dumps(report))

    report["correctness"] = check_correctness(device, args.steps)
    log("correctness", json.dumps(report["correctness"]))
    report["correctness_guided"] = check_correctness(device, args.steps, guided=True)
    log("correctness, guided fast steps on the noisy sample", json.dumps(report["correctness_guided"]))

    runs = []
    fast_its = None if device.type == "cuda" else iterations
    for noisy in (False, True):  # the user's default path first: fast, then fast on the noisy sample
        runs.append(timed_train(str(device), fast_its, "fast", noisy=noisy))
        log(f"fast {runs[-1]['image']}", json.dumps(runs[-1]))
    first = timed_train(str(device), iterations)
    runs.append(first)
    log("paper float32", json.dumps(first))
    # a further paper run costs about as long as the first; only start it if it fits
    if budget_left() < 1.3 * first["seconds_end_to_end"] + 60:
        log("skipped paper bfloat16: time budget")
    elif device.type == "cpu" and not native_bf16_cpu():
        log("skipped bfloat16: this CPU has no native bfloat16 (emulated, ~100x slower)")
    else:
        runs.append(timed_train(str(device), iterations, "paper", precision="bfloat16"))
        log("paper {'precision': 'bfloat16'}", json.dumps(runs[-1]))
    report["training"] = runs

    if budget_left() > 60:
        repeats, inner = (5, 10) if device.type == "cuda" else (1, 1)
        report["g_up_levers"] = gup_levers(device, repeats, inner, budget_left)
        log("G_UP levers (fwd+bwd of the two training inputs)", json.dumps(report["g_up_levers"]))

    print()
    print(f"device: {report['device']}  torch {report['torch']}  cuda {report['cuda']}")
    ok = True
    for key in ("correctness", "correctness_guided"):
        row = report[key]
        ok &= row["ok"]  # type: ignore[index]
        print(f"{key} CPU vs {device.type}: {'OK' if row['ok'] else 'MISMATCH'}  {json.dumps(row)}")  # type: ignore[index]
    print("| preset | image | steps | settings | end to end (s) | training (s) | PSNR vs HR (dB) |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['preset']} | {r['image']} | {r['iterations']} | {r['overrides'] or 'float32'} | "
            f"{r['seconds_end_to_end']} | {r['seconds_training']} | {r['psnr_vs_hr']} |"
        )
    print(f"total {elapsed():.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
