"""Whole-dataset apply on dask: a 16384x16384 uint16 Zarr array, 1 and 2 workers beside one process.

    OMP_NUM_THREADS=1 python benchmarks/scale_apply.py [--size 16384] [--features 1] [--chunk 512]

Writes a ``size``x``size`` uint16 Zarr array (a smooth texture with noise, ``chunk``-pixel
chunks, written chunk by chunk), exports a G_UP with ``--features`` channels (2 training
steps: speed and memory do not depend on the weights), then runs, each in its own child
process so that peak memory is its own:

- ``dualsr apply MODEL in.zarr -o out.zarr --scheduler ADDRESS`` on a local cluster of 2 and
  of 1 worker(s) (``dualsr.scale.cluster.client``, as ``--workers N`` starts it, imports done):
  wall time with and without the cluster's start, each worker's peak RSS (``ru_maxrss``);
- one process: the array read into memory and ``OnnxUpsampler.upsample`` (tile 512, all
  cores), the path a single ``dualsr apply`` takes; its result is compared with both
  Zarr outputs, bit for bit.

Throughput is input megapixels per second. A markdown table is printed; the CPU and the
per-pixel cost of the paper-size (64-feature) model come after it, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD_CLUSTER = """
import json, resource, sys, time
start = time.perf_counter()
from dualsr.cli.main import main
from dualsr.scale.cluster import client as cluster
workers, argv = int(sys.argv[1]), sys.argv[2:]
with cluster(workers, None) as client:
    ready = time.perf_counter()
    rc = main(argv + ["--scheduler", client.scheduler.address])
    done = time.perf_counter()
    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
end = time.perf_counter()
client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("RESULT", json.dumps({"rc": rc, "start": ready - start, "apply": done - ready, "wall": end - start,
                            "workers_mb": sorted(p / 1024 for p in peaks.values()), "client_mb": client_peak / 1024}))
"""

CHILD_SINGLE = """
import json, resource, sys, time
start = time.perf_counter()
import numpy as np, zarr
from dualsr.runtime.onnx_runtime import OnnxUpsampler
model, src, outs = sys.argv[1], sys.argv[2], sys.argv[3:]
data = zarr.open_array(src, mode="r")[:]
read = time.perf_counter()
x2 = OnnxUpsampler(model).upsample(data, axes="YX", tile=512)
done = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check reads the outputs
same = [bool(np.array_equal(zarr.open_array(o, mode="r")[:], x2)) for o in outs]
print("RESULT", json.dumps({"read": read - start, "apply": done - read, "wall": done - start, "same": same,
                            "peak_mb": peak}))
"""


def child(code: str, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    lines = [line for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def write_input(path: Path, size: int, chunk: int) -> None:
    """A smooth texture plus noise, chunk by chunk (no full-size temporary)."""
    import zarr

    z = zarr.create_array(path, shape=(size, size), chunks=(chunk, chunk), dtype="uint16")
    rng = np.random.default_rng(0)
    for r in range(0, size, chunk):
        yy = np.arange(r, min(r + chunk, size))[:, None] / 37.0
        for c in range(0, size, chunk):
            xx = np.arange(c, min(c + chunk, size))[None, :] / 23.0
            tex = np.sin(yy) * np.cos(xx) + 0.5 * np.sin(0.3 * yy + 0.7 * xx)
            noise = rng.normal(0, 0.05, tex.shape)
            z[r : r + chunk, c : c + chunk] = ((tex + noise + 2) * 15000).clip(0, 65535).astype(np.uint16)


def export_model(path: Path, features: int) -> Path:
    import dualsr
    from dualsr.config import scheduled

    image = (np.random.default_rng(1).random((200, 200)) * 60000).astype(np.uint16)
    return dualsr.train(image, config=scheduled(2, dualsr.DualSRConfig(up_features=features))).export_onnx(path)


def megapixels_per_second(folder: Path, features: int, side: int = 1024) -> float:
    """One process, ``side``^2, a ``features``-wide G_UP: the per-pixel cost of the model alone."""
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    model = OnnxUpsampler(export_model(folder / f"g{features}.onnx", features))
    image = (np.random.default_rng(2).random((side, side)) * 60000).astype(np.uint16)
    start = time.perf_counter()
    model.upsample(image)
    return side * side / 1e6 / (time.perf_counter() - start)


def cpu_name() -> str:
    """lscpu's model name, the core count and the vector extensions that matter to onnxruntime."""
    import os

    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        name = platform.processor() or "unknown"
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return f"{name}, {os.cpu_count()} cores, {' '.join(simd) or 'no AVX2'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--features", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--probe-side", type=int, default=1024, help="image side of the per-pixel cost comparison")
    args = ap.parse_args()
    mp = args.size * args.size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = folder / "in.zarr"
        write_input(src, args.size, args.chunk)
        model = export_model(folder / "model.onnx", args.features)
        runs = {}
        for workers in (2, 1):
            out = folder / f"out{workers}.zarr"
            runs[workers] = child(CHILD_CLUSTER, str(workers), "apply", str(model), str(src), "-o", str(out))
            print(f"{workers} worker(s): {runs[workers]}", file=sys.stderr)
        single = child(CHILD_SINGLE, str(model), str(src), str(folder / "out2.zarr"), str(folder / "out1.zarr"))
        print(f"one process: {single}", file=sys.stderr)
        side = args.probe_side
        ratio = megapixels_per_second(folder, args.features, side) / megapixels_per_second(folder, 64, side)
    print(
        f"| run ({args.size}x{args.size} uint16, {mp:.0f} MP, G_UP {args.features} feature(s)) | wall s | "
        "apply s | MP/s (apply) | peak RSS per worker MB | client / process peak RSS MB | equal |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| one process (OnnxUpsampler, tile 512) | {single['wall']:.0f} | {single['apply']:.0f} | "
        f"{mp / single['apply']:.2f} | – | {single['peak_mb']:.0f} | reference |"
    )
    for workers in (1, 2):
        r = runs[workers]
        same = single["same"][0 if workers == 2 else 1]
        print(
            f"| dask, {workers} worker(s) | {r['wall']:.0f} | {r['apply']:.0f} | {mp / r['apply']:.2f} | "
            f"{' / '.join(f'{m:.0f}' for m in r['workers_mb'])} | {r['client_mb']:.0f} | "
            f"{'bit for bit' if same else 'DIFFERENT'} |"
        )
    print(f"\nCPU: {cpu_name()}; cluster start {runs[2]['start']:.1f} s (2 workers), {runs[1]['start']:.1f} s (1)")
    print(f"The 64-feature (paper) G_UP costs {ratio:.1f}x the time per pixel of the {args.features}-feature one here.")


if __name__ == "__main__":
    main()
