"""Speed levers of the training step, each measured against the default, interleaved.

    PYTHONPATH=src python benchmarks/studies/training/levers.py threads layout adam tiling winograd bf16
    PYTHONPATH=src python benchmarks/studies/training/levers.py compile     # slow: compiles G_UP first

``--features`` narrows every network (and the single convolutions) from the paper's 64 and
``--tile-image`` shrinks the tiling lever's image from 512^2: toy sizes that only check the
script runs (the default sizes are what ``docs/performance.md`` quotes).

Every lever runs in one process with its reference: each repeat times one block of the
reference and one of every variant in turn; medians are compared. The numbers recorded in
``docs/performance.md`` come from this script.

- ``threads``: the engine's full training step with ``torch.set_num_threads(1)`` vs all cores.
- ``openmp``: the engine's step in fresh processes: libgomp's default wait policy (threads
  spin before they sleep) vs ``OMP_WAIT_POLICY=PASSIVE`` (what ``import dualsr`` sets) vs one
  thread; rounds alternate between the variants.
- ``layout``: G_UP forward+backward on the training shapes (x: 2x64^2, G_DN(y): 2x58^2),
  NCHW (default) vs channels-last vs oneDNN disabled (im2col + BLAS).
- ``bf16``: one 64->64 3x3 convolution forward+backward (2x128^2), float32 vs bfloat16.
- ``adam``: the engine's step with torch's default (for-each) Adam vs ``fused=True``.
- ``compile``: G_UP forward+backward eager vs ``torch.compile`` (inductor), plus compile time.
- ``winograd``: a 64->64 3x3 convolution forward+backward as Winograd F(2x2,3x3) and
  F(4x4,3x3) written with torch ops (fewer multiplications) vs oneDNN's direct convolution.
- ``tiling``: whole-image inference of a trained-size G_UP on a 512^2 image, tiles of 128
  and 256 vs one piece (results are equal; only speed and memory differ).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and sys.argv[1:2] != ["_openmp_child"]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as ``import dualsr`` does, before torch loads
if __name__ == "__main__" and sys.argv[1:2] == ["_openmp_child"]:
    # ``openmp`` lever child, before torch loads libgomp: "default" is libgomp's own wait
    # policy (spin, then sleep), "passive" what ``import dualsr`` sets
    os.environ.pop("OMP_WAIT_POLICY", None)
    if sys.argv[2] == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        import torch  # noqa: F401  -- loaded before dualsr could set the policy

import argparse
import contextlib
import json
import statistics
import subprocess
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from dualsr.config import DualSRConfig
from dualsr.engine.loop import make_step
from dualsr.inference.tiling import tiled_upsample
from dualsr.io.normalize import fit_normalization
from dualsr.io.sample import sample_lr
from dualsr.paper.networks import GeneratorUp
from dualsr.paper.step import DualSRStep


def interleaved(fns: dict[str, Callable[[], None]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each function, timed round-robin."""
    for f in fns.values():
        for _ in range(warmup):
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            start = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def report(lever: str, medians: dict[str, float], reference: str) -> dict:
    base = medians[reference]
    row = {
        "lever": lever,
        "ms": {k: round(v * 1e3, 1) for k, v in medians.items()},
        "speedup_vs_" + reference: {k: round(base / v, 2) for k, v in medians.items()},
    }
    return row


FEATURES = 64  # --features: the networks' width (and the single convolutions' channels)
TILE_IMAGE = 512  # --tile-image: the tiling lever's image side


def sample_plane() -> np.ndarray:
    lr = sample_lr().data
    return fit_normalization(lr).apply(lr)[None]


def engine_loop(config: DualSRConfig | None = None) -> tuple[DualSRStep, list[int]]:
    config = config or DualSRConfig(up_features=FEATURES, dn_features=FEATURES, d_features=FEATURES)
    torch.manual_seed(config.seed)
    return make_step(sample_plane(), config, torch.device("cpu"), None), [0]


def stepper(loop: DualSRStep, counter: list[int], threads: int | None = None) -> Callable[[], None]:
    def run() -> None:
        if threads:
            torch.set_num_threads(threads)
        loop.step(counter[0])
        counter[0] += 1

    return run


def gup_pair(model: GeneratorUp, ctx=contextlib.nullcontext, channels_last: bool = False, fwd=None):  # noqa: ANN001
    """G_UP forward+backward on the two training inputs, as the generator step has them."""
    x = torch.rand(2, 1, 64, 64)
    z = torch.rand(2, 1, 58, 58, requires_grad=True)
    if channels_last:
        x, z = (t.contiguous(memory_format=torch.channels_last) for t in (x, z))
        z = z.detach().requires_grad_()
    fwd = model if fwd is None else fwd  # not `fwd or model`: a compiled module has no truth value

    def run() -> None:
        model.zero_grad(set_to_none=True)
        z.grad = None
        with ctx():
            loss = fwd(x).float().abs().mean() + fwd(z).float().abs().mean()
        loss.backward()

    return run


def lever_threads(repeats: int) -> dict:
    cores = torch.get_num_threads()
    a, ca = engine_loop()
    b, cb = engine_loop()
    out = interleaved({f"{cores} threads": stepper(a, ca, cores), "1 thread": stepper(b, cb, 1)}, repeats)
    torch.set_num_threads(cores)
    return report("threads (engine step)", out, f"{cores} threads")


def openmp_child(policy: str, threads: int, steps: int) -> None:
    torch.set_num_threads(threads)
    loop, counter = engine_loop()
    run = stepper(loop, counter)
    run()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"policy": policy, "threads": threads, "median_s": statistics.median(times)}))


def lever_openmp(repeats: int) -> dict:
    cores = os.cpu_count() or 1
    variants = {
        f"{cores} threads, libgomp default": ("default", cores),
        f"{cores} threads, PASSIVE": ("passive", cores),
        "1 thread": ("passive", 1),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    for _ in range(max(2, repeats // 2)):
        for name, (policy, threads) in variants.items():
            cmd = [sys.executable, __file__, "_openmp_child", policy, str(threads), str(FEATURES)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            times[name].append(json.loads(out.stdout.strip().splitlines()[-1])["median_s"])
    medians = {k: statistics.median(v) for k, v in times.items()}
    return report("OpenMP wait policy / threads (engine step, fresh processes)", medians, next(iter(variants)))


def lever_layout(repeats: int) -> dict:
    torch.manual_seed(0)
    g = GeneratorUp(1, features=FEATURES)
    g_cl = GeneratorUp(1, features=FEATURES)
    g_cl.load_state_dict(g.state_dict())
    g_cl = g_cl.to(memory_format=torch.channels_last)
    fns = {
        "NCHW (oneDNN)": gup_pair(g),
        "channels_last": gup_pair(g_cl, channels_last=True),
        "oneDNN off": gup_pair(g, ctx=lambda: torch.backends.mkldnn.flags(enabled=False)),
    }
    return report("memory layout / conv backend (G_UP fwd+bwd)", interleaved(fns, repeats), "NCHW (oneDNN)")


def lever_bf16(repeats: int) -> dict:
    x = torch.randn(2, FEATURES, 128, 128)
    w = torch.randn(FEATURES, FEATURES, 3, 3, requires_grad=True)

    def run(dtype: torch.dtype) -> Callable[[], None]:
        def f() -> None:
            w.grad = None
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                y = F.conv2d(x, w, padding=1)
            y.float().sum().backward()

        return f

    out = interleaved({"float32": run(torch.float32), "bfloat16 autocast": run(torch.bfloat16)}, repeats)
    row = report(f"bf16 autocast ({FEATURES}->{FEATURES} 3x3 conv fwd+bwd)", out, "float32")
    row["native_bf16"] = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return row


def lever_adam(repeats: int) -> dict:
    a, ca = engine_loop()
    b, cb = engine_loop()
    for name in ("opt_up", "opt_dn", "opt_d"):
        old = getattr(b, name)
        params = [p for g in old.param_groups for p in g["params"]]
        g0 = old.param_groups[0]
        setattr(b, name, torch.optim.Adam(params, g0["lr"], betas=g0["betas"], fused=True))
    return report(
        "Adam (engine step)", interleaved({"foreach": stepper(a, ca), "fused": stepper(b, cb)}, repeats), "foreach"
    )


def lever_compile(repeats: int) -> dict:
    torch.manual_seed(0)
    g = GeneratorUp(1, features=FEATURES)
    gc = GeneratorUp(1, features=FEATURES)
    gc.load_state_dict(g.state_dict())
    compiled = torch.compile(gc)
    run_c = gup_pair(gc, fwd=compiled)
    start = time.perf_counter()
    run_c()
    run_c()
    compile_s = time.perf_counter() - start
    row = report(
        "torch.compile (G_UP fwd+bwd)", interleaved({"eager": gup_pair(g), "compiled": run_c}, repeats), "eager"
    )
    row["compile_and_first_two_s"] = round(compile_s, 1)
    return row


# --- Winograd convolution written with torch ops (a measured dead end, kept for the record) ---

_BT = {
    2: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    4: [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
}
_G = {
    2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    4: [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
}
_AT = {
    2: [[1, 1, 1, 0], [0, 1, -1, -1]],
    4: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
}


def winograd_conv3x3(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, m: int) -> torch.Tensor:
    """``F.conv2d(x, w, b, padding=1)`` by Winograd F(m x m, 3 x 3), differentiable."""
    bt, g, at = (torch.tensor(t, dtype=torch.float64) for t in (_BT[m], _G[m], _AT[m]))
    a = m + 2
    k_in = torch.einsum("ui,vj->uvij", bt, bt).reshape(a * a, 1, a, a).float()
    k_out = torch.einsum("pu,qv->pquv", at, at).reshape(m * m, a * a).float()
    n, c, h, wd = x.shape
    k = w.shape[0]
    th, tw = -(-h // m), -(-wd // m)
    xp = F.pad(x, (1, 1 + tw * m - wd, 1, 1 + th * m - h))
    v = F.conv2d(xp.reshape(n * c, 1, *xp.shape[-2:]), k_in, stride=m)
    v = v.reshape(n, c, a * a, th * tw).permute(2, 0, 3, 1).reshape(a * a, n * th * tw, c)
    u = torch.einsum("ui,kcij,vj->uvck", g.float(), w, g.float()).reshape(a * a, c, k)
    prod = torch.bmm(v, u)
    y = (k_out @ prod.reshape(a * a, -1)).reshape(m, m, n, th, tw, k)
    y = y.permute(2, 5, 3, 0, 4, 1).reshape(n, k, th * m, tw * m)[:, :, :h, :wd]
    return y + b[None, :, None, None]


def lever_winograd(repeats: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(2, FEATURES, 128, 128, requires_grad=True)
    w = (torch.randn(FEATURES, FEATURES, 3, 3) * 0.06).requires_grad_()
    b = torch.zeros(FEATURES, requires_grad=True)
    g = torch.randn(2, FEATURES, 128, 128)
    ref = F.conv2d(x, w, b, padding=1)
    with torch.no_grad():
        errors = {m: float((winograd_conv3x3(x, w, b, m) - ref).abs().max() / ref.abs().max()) for m in (2, 4)}

    def run(f: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def inner() -> None:
            x.grad = w.grad = b.grad = None
            f().backward(g)

        return inner

    fns = {
        "direct (oneDNN)": run(lambda: F.conv2d(x, w, b, padding=1)),
        "Winograd F(2,3)": run(lambda: winograd_conv3x3(x, w, b, 2)),
        "Winograd F(4,3)": run(lambda: winograd_conv3x3(x, w, b, 4)),
    }
    label = f"Winograd in torch ops ({FEATURES}->{FEATURES} 3x3 fwd+bwd)"
    row = report(label, interleaved(fns, repeats), "direct (oneDNN)")
    row["max_relative_error"] = {f"F({m},3)": f"{e:.1e}" for m, e in errors.items()}
    return row


def lever_tiling(repeats: int) -> dict:
    torch.manual_seed(0)
    model = GeneratorUp(1, features=FEATURES).eval()
    image = np.random.default_rng(0).random((1, 1, TILE_IMAGE, TILE_IMAGE), dtype=np.float32)

    def fn(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    outs: dict[str, np.ndarray] = {}

    def run(tile: int | None) -> Callable[[], None]:
        def inner() -> None:
            outs[str(tile)] = tiled_upsample(fn, image, tile=tile)

        return inner

    fns = {"one piece": run(None), "tile 256": run(256), "tile 128": run(128)}
    row = report(f"inference tiling (G_UP on {TILE_IMAGE}^2)", interleaved(fns, repeats), "one piece")
    row["equal"] = all(np.array_equal(outs["None"], o) for o in outs.values())
    return row


LEVERS = {
    "openmp": lever_openmp,
    "threads": lever_threads,
    "layout": lever_layout,
    "bf16": lever_bf16,
    "adam": lever_adam,
    "compile": lever_compile,
    "winograd": lever_winograd,
    "tiling": lever_tiling,
}


def main() -> None:
    global FEATURES, TILE_IMAGE
    if sys.argv[1:2] == ["_openmp_child"]:
        FEATURES = int(sys.argv[4])
        openmp_child(sys.argv[2], int(sys.argv[3]), 3)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("levers", nargs="+", choices=list(LEVERS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", help="append the rows here (JSON lines)")
    p.add_argument("--features", type=int, default=FEATURES, help="network width (default: the paper's 64)")
    p.add_argument("--tile-image", type=int, default=TILE_IMAGE, help="the tiling lever's image side (default 512)")
    args = p.parse_args()
    FEATURES, TILE_IMAGE = args.features, args.tile_image
    for name in args.levers:
        repeats = 1 if name == "bf16" else args.repeats
        row = LEVERS[name](repeats)
        row["threads"] = torch.get_num_threads()
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
