"""The reference code (memad73/DualSR) and the engine's `paper` path on one image, kernels logged.

The blind-kernel issue asks whether the engine's `paper` preset trains the kernel side as the
reference does. This runs either code on the same LR image of a ``dualsr bench`` set, with the
paper's schedule (not compressed: both cut off at ``--iterations``), logs the kernel every
``--log-every`` steps (its covariance eigenvalues and its max error against the true kernel,
both post-processed the same way by :func:`dualsr.paper.kernel.final_kernel`), and scores the final x2
against the HR. One process per (code, seed), so two can run side by side on two cores; each
writes one JSON file, and ``report`` prints the table for docs/blind_kernel.md.

The reference is a benchmark here, never imported by the library. Fetch it (``git clone
https://github.com/memad73/DualSR``); it is run unmodified on the CPU: ``.cuda()`` is made a
no-op, its fixed seeds (``torch.manual_seed(0)``, ``np.random.seed(0)``) are replaced by
``--seed`` while it builds, and matplotlib (only its debug plots use it) is stubbed when absent.

    dualsr degrade out/bench384/set/gt/immunohistochemistry.png -o out/ihc_round --seed 92  # a round kernel
    OMP_NUM_THREADS=1 python benchmarks/studies/kernel/reference_side_by_side.py run reference out/ihc_round \\
        immunohistochemistry --reference ../DualSR --iterations 1000 --seed 0 --out out/refside
    OMP_NUM_THREADS=1 python benchmarks/studies/kernel/reference_side_by_side.py run engine out/ihc_round \\
        immunohistochemistry --iterations 1000 --seed 0 --out out/refside [--d-init reference]
    python benchmarks/studies/kernel/reference_side_by_side.py report out/refside
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

from dualsr.config import D_INITS, DualSRConfig
from dualsr.engine.train import train
from dualsr.evaluation.bench import evaluate
from dualsr.evaluation.methods import BenchSettings, run_method
from dualsr.evaluation.metrics import kernel_covariance, kernel_error
from dualsr.evaluation.sets import Case, load_cases
from dualsr.paper.kernel import final_kernel


def covariance_eigenvalues(kernel: np.ndarray) -> list[float]:
    """The kernel's spread along its two principal axes (px², HR pixels)."""
    return [round(float(v), 3) for v in np.linalg.eigvalsh(kernel_covariance(kernel))]


def kernel_record(step: int, raw: np.ndarray, truth: np.ndarray) -> dict:
    k = final_kernel(raw)
    return {"step": step, "eig": covariance_eigenvalues(k), "err": kernel_error(k, truth)["kernel_max_rel"]}


def run_engine(
    case: Case, iterations: int, seed: int, log_every: int, d_init: str = "xavier"
) -> tuple[np.ndarray, list[dict]]:
    """The engine with the paper's settings and uncompressed schedule, cut at ``iterations``."""
    log: list[dict] = []

    def progress(info) -> None:
        if info.kernel is not None and info.step % log_every == 0:
            log.append(kernel_record(info.step, info.kernel, case.kernel))

    config = DualSRConfig(iterations=iterations, seed=seed, d_init=d_init)
    result = train(case.lr, config=config, device="cpu", progress=progress)
    return result.image, log


@contextlib.contextmanager
def reference_modules(path: Path, seed: int):
    """Import the reference code for the CPU with ``seed`` in place of its fixed seeds."""
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    torch.nn.Module.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    with contextlib.suppress(ImportError):
        import matplotlib  # noqa: F401
    if "matplotlib" not in sys.modules:
        stub = types.ModuleType("matplotlib")
        stub.pyplot = types.ModuleType("matplotlib.pyplot")  # type: ignore[attr-defined]
        stub.gridspec = types.ModuleType("matplotlib.gridspec")  # type: ignore[attr-defined]
        stub.gridspec.GridSpec = None  # type: ignore[attr-defined]
        sys.modules.update({"matplotlib": stub, "matplotlib.pyplot": stub.pyplot, "matplotlib.gridspec": stub.gridspec})
    sys.path.insert(0, str(path))
    torch_seed, np_seed = torch.manual_seed, np.random.seed
    torch.manual_seed = lambda _s: torch_seed(seed)  # type: ignore[assignment]
    np.random.seed = lambda _s=None: np_seed(seed)  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.manual_seed, np.random.seed = torch_seed, np_seed  # type: ignore[assignment]


def run_reference(
    case: Case, lr_path: Path, reference: Path, iterations: int, seed: int, log_every: int
) -> tuple[np.ndarray, list[dict]]:
    """The reference's own loop (its main.py without the per-image file handling)."""
    with tempfile.TemporaryDirectory() as out:
        argv = ["main.py", "-i", str(lr_path.parent), "-o", out, "--num_iters", str(iterations)]
        with reference_modules(reference, seed), _argv(argv):
            from data import create_dataset  # the reference's modules
            from DualSR import DualSR
            from learner import Learner
            from options import options

            conf = options().get_config(lr_path.name)
            model = DualSR(conf)
            loader = create_dataset(conf)
            learner = Learner(model)
        log = []
        for iteration, data in enumerate(loader):
            model.train(data)
            learner.update(iteration, model)
            if (iteration + 1) % log_every == 0:
                log.append(kernel_record(iteration + 1, model.curr_k.detach().numpy(), case.kernel))
        with torch.no_grad():
            sr = model.G_UP(model.in_img_t).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return np.round(sr * 255).astype(np.uint8), log


@contextlib.contextmanager
def _argv(argv: list[str]):
    saved, sys.argv = sys.argv, argv
    try:
        yield
    finally:
        sys.argv = saved


def run(args: argparse.Namespace) -> None:
    (case,) = load_cases(args.set, names=[args.image])
    torch.set_num_threads(1)
    start = time.perf_counter()
    code = args.code if args.code == "reference" or args.d_init == "xavier" else f"engine-{args.d_init}-init"
    if args.code == "engine":
        sr, log = run_engine(case, args.iterations, args.seed, args.log_every, args.d_init)
    else:
        lr_path = Path(args.set) / "lr_x2" / f"{args.image}.png"
        sr, log = run_reference(case, lr_path, Path(args.reference), args.iterations, args.seed, args.log_every)
    seconds = time.perf_counter() - start
    bicubic, _, _ = run_method(case, "bicubic", BenchSettings())
    scores, base = evaluate(case, sr, None), evaluate(case, bicubic, None)
    record = {
        "code": code,
        "image": args.image,
        "seed": args.seed,
        "iterations": args.iterations,
        "true_eig": covariance_eigenvalues(case.kernel),
        "psnr": scores["psnr"],
        "bicubic_psnr": base["psnr"],
        "overshoot": scores["overshoot"],
        "seconds": round(seconds, 1),
        "log": log,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.image}_{code}_s{args.seed}.json").write_text(json.dumps(record, indent=1))
    last = log[-1] if log else {}
    print(
        f"{code} seed {args.seed}: {scores['psnr'] - base['psnr']:+.2f} dB over bicubic, "
        f"kernel {last.get('eig')} err {last.get('err', float('nan')):.0%}, {seconds:.0f} s"
    )


def report(folder: Path, every: int) -> None:
    """Markdown: final scores per run, then the kernel error trajectories side by side."""
    runs = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    runs.sort(key=lambda r: (r["image"], r["seed"], r["code"]))
    print(
        "| image (true eigenvalues, px²) | code | seed | steps | ΔPSNR vs bicubic | overshoot "
        "| final kernel eigenvalues | max error | time |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for r in runs:
        last = r["log"][-1]
        print(
            f"| {r['image']} ({' / '.join(f'{v:.2f}' for v in r['true_eig'])}) | {r['code']} | {r['seed']} | "
            f"{r['iterations']} | {r['psnr'] - r['bicubic_psnr']:+.2f} dB | {r['overshoot']:.2f} | "
            f"{' / '.join(f'{v:.2f}' for v in last['eig'])} | {last['err']:.0%} | {r['seconds'] / 60:.0f} min |"
        )
    steps = sorted({e["step"] for r in runs for e in r["log"] if e["step"] % every == 0})
    print("\nKernel max error (eigenvalues) every", every, "steps:\n")
    print("| step | " + " | ".join(f"{r['code']} s{r['seed']}" for r in runs) + " |")
    print("| ---: |" + " --- |" * len(runs))
    for step in steps:
        cells = []
        for r in runs:
            e = next((x for x in r["log"] if x["step"] == step), None)
            cells.append(f"{e['err']:.0%} ({e['eig'][0]:.1f}/{e['eig'][1]:.1f})" if e else "–")
        print(f"| {step} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one code, one seed, one image")
    r.add_argument("code", choices=["engine", "reference"])
    r.add_argument("set", help="a dualsr bench set folder (gt/, lr_x2/, gt_k_x2/)")
    r.add_argument("image")
    r.add_argument("--reference", default="../DualSR", help="a clone of memad73/DualSR")
    r.add_argument("--iterations", type=int, default=3000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--log-every", type=int, default=100)
    r.add_argument(
        "--d-init", choices=D_INITS, default="xavier", help="the engine's D_DN init (reference: what memad73 runs)"
    )
    r.add_argument("--out", default="out/refside")
    p = sub.add_parser("report", help="the table of the runs in a folder")
    p.add_argument("folder")
    p.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    if args.command == "run":
        run(args)
    else:
        report(Path(args.folder), args.every)


if __name__ == "__main__":
    main()
