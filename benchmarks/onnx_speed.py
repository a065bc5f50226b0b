"""onnxruntime (CPU) against torch eager on the same x2 upsampler, side by side in one run.

    python benchmarks/onnx_speed.py                      # 1024x1024 (3 runs) and 4096x4096 tiled (1 run)
    python benchmarks/onnx_speed.py --sizes 512 --repeats 5

The model is the paper's G_UP (8 layers, 64 features, 1 channel) with one set of random
weights, exported once; both engines run it through the same exact tiling
(``dualsr.inference.tiling.tiled_upsample``, 512-pixel LR tiles) on the same normalised float32
input. Each engine runs in its own process, so that its peak memory is its own ("peak MB": the
high-water mark of resident memory during the timed runs minus the resident memory
before them, model loaded and warmed up), and the timed runs alternate between the two
engines, so that both see the same background load. Results go to stdout and, with
``--json``, to a file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("torch", "onnxruntime")


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def _reset_hwm() -> None:
    """Linux: writing 5 to clear_refs resets the resident high-water mark."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def build_model(seed: int = 0):
    import torch

    from dualsr.inference.upsampler import GroupedUpsampler
    from dualsr.paper.networks import GeneratorUp

    torch.manual_seed(seed)
    return GroupedUpsampler([GeneratorUp(1, 8, 64)], [[0]]).eval()


def export(path: Path) -> None:
    """The benchmark model as ONNX, through the same exporter code as ``export_onnx``."""
    import onnx

    from dualsr.runtime.onnx_export import _export, check_parity

    model = build_model()
    proto = _export(model, 1, 17, "torchscript")
    print(f"export parity vs torch: max abs diff {check_parity(proto, model, 1):.2e}", flush=True)
    onnx.save_model(proto, str(path))


def _engine(name: str, onnx_path: str, threads: int):
    """``fn(batch) -> batch`` for one engine."""
    if name == "torch":
        import torch

        torch.set_num_threads(threads)
        model = build_model()

        def run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()

        return run
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0]


def worker(name: str, onnx_path: str, size: int, tile: int, threads: int, conn) -> None:
    """One engine in its own process: warm up, then time one tiled run per "run" message.

    Replies with the seconds of each run; on "stop" with the peak resident memory above
    the level before the first timed run.
    """
    from dualsr.inference.tiling import tiled_upsample

    fn = _engine(name, onnx_path, threads)
    image = np.random.default_rng(1).random((1, 1, size, size), dtype=np.float32)
    out = np.empty((1, 1, 2 * size, 2 * size), np.float32)
    tiled_upsample(fn, image[:, :, :64, :64], tile=tile)  # warm-up: allocators, graph init
    _reset_hwm()
    base = _rss_mb()
    conn.send("ready")
    while conn.recv() == "run":
        start = time.perf_counter()
        tiled_upsample(fn, image, tile=tile, out=out)
        conn.send(time.perf_counter() - start)
    conn.send({"peak_mb": _hwm_mb() - base, "checksum": float(out[0, 0, ::97, ::89].sum())})


def compare(onnx_path: str, size: int, tile: int, repeats: int, threads: int) -> dict:
    """Both engines side by side, runs interleaved (torch, onnxruntime, torch, ...) so that
    both see the same background load."""
    ctx = mp.get_context("spawn")
    engines = {}
    for name in ENGINES:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(name, onnx_path, size, tile, threads, child))
        proc.start()
        assert parent.recv() == "ready"
        engines[name] = (proc, parent)
    seconds = {name: [] for name in ENGINES}
    for _ in range(repeats):
        for name, (_, conn) in engines.items():
            conn.send("run")
            seconds[name].append(conn.recv())
    result = {}
    for name, (proc, conn) in engines.items():
        conn.send("stop")
        result[name] = {"seconds": seconds[name], **conn.recv()}
        proc.join()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096], help="LR image sides")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per engine for sizes <= 2048")
    p.add_argument("--repeats-large", type=int, default=1, help="timed runs per engine for sizes > 2048")
    p.add_argument("--tile", type=int, default=512, help="LR tile side")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads of both engines")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = str(Path(tmp) / "g_up.onnx")
        export(Path(onnx_path))
        for size in args.sizes:
            repeats = args.repeats if size <= 2048 else args.repeats_large
            res = compare(onnx_path, size, args.tile, repeats, args.threads)
            same = abs(res["torch"]["checksum"] - res["onnxruntime"]["checksum"]) < 1e-2
            t, o = (statistics.median(res[e]["seconds"]) for e in ("torch", "onnxruntime"))
            row = {"size": size, "repeats": repeats, "torch_s": t, "onnxruntime_s": o, "speedup": t / o}
            row |= {"torch_peak_mb": res["torch"]["peak_mb"], "onnxruntime_peak_mb": res["onnxruntime"]["peak_mb"]}
            row |= {"outputs_agree": same, "runs": {e: res[e]["seconds"] for e in ENGINES}}
            rows.append(row)
            print(
                f"{size}x{size} -> {2 * size}x{2 * size}, tile {args.tile}, {repeats} run(s), {args.threads} threads: "
                f"torch {t:.2f} s (peak +{row['torch_peak_mb']:.0f} MB) | onnxruntime {o:.2f} s "
                f"(peak +{row['onnxruntime_peak_mb']:.0f} MB) | torch/onnxruntime time ratio {t / o:.2f}"
                f"{'' if same else ' | OUTPUTS DIFFER'}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
