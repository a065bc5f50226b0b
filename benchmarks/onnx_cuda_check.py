"""Check the CUDA path of ``OnnxUpsampler`` on a machine with an NVIDIA GPU (CI has none).

    python benchmarks/onnx_cuda_check.py            # exits 1 if CUDA is not used or results differ
    python benchmarks/onnx_cuda_check.py --cpu-only # the CPU standing in for CUDA (tests this script)

Exports the paper-size G_UP (random weights) with dualsr's exporter, runs a 2048x2048
float32 image through ``OnnxUpsampler`` on ``cuda`` and on ``cpu``, checks that the
session really got ``CUDAExecutionProvider`` and that both results agree, and prints
median timings. Then the same for the product's noisy-image model: ``fast`` trained briefly
on the noisy sample (guided G_UP with its torch denoiser, back-projection onto the denoised
copy, all inside the ONNX file), applied to the noisy sample tiled to 1024x1024 (uint16).
``--cpu-only`` runs both checks with the CPU standing in for CUDA on 512x512 images (tests this script);
``--side``, ``--noisy-side`` and ``--runs`` change the two images' sides and the timed runs.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

import dualsr
from dualsr.errors import DualSRInputError
from dualsr.io.sample import sample_noisy_lr
from dualsr.runtime.onnx_export import FORMAT_KEY, _export
from dualsr.runtime.onnx_runtime import CUDA, OnnxUpsampler

sys.path.insert(0, str(Path(__file__).parent))
from onnx_speed import build_model  # noqa: E402


def timed(up: OnnxUpsampler, image: np.ndarray, runs: int) -> tuple[np.ndarray, float]:
    up.upsample(image[:256, :256])  # warm-up (CUDA context, cuDNN algorithm search)
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = up.upsample(image, tile=1024)
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def compare(path: Path, image: np.ndarray, device: str, tolerance: float, runs: int = 3) -> bool:
    """``path`` on ``device`` against the CPU: the provider used, the largest difference, the times."""
    try:
        gpu = OnnxUpsampler(path, device=device)
    except DualSRInputError as exc:
        print(f"FAIL: {exc}")
        return False
    print("providers:", gpu.providers)
    if device == "cuda" and gpu.providers[0] != CUDA:
        print("FAIL: CUDA was not used")
        return False
    sr_gpu, t_gpu = timed(gpu, image, runs)
    sr_cpu, t_cpu = timed(OnnxUpsampler(path, device="cpu"), image, runs=1)
    diff = float(np.abs(sr_gpu.astype(np.float64) - sr_cpu.astype(np.float64)).max())
    h, w = image.shape
    times = f"{device} {t_gpu:.2f} s, cpu {t_cpu:.2f} s"
    print(f"{path.stem}: {h}x{w} -> {2 * h}x{2 * w}: {times}, max abs diff {diff:.3g}")
    return diff < tolerance


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu-only", action="store_true", help="the CPU stands in for CUDA, on smaller images")
    p.add_argument("--side", type=int, help="the random image's side (default 2048; --cpu-only: 512)")
    p.add_argument("--noisy-side", type=int, help="the tiled noisy sample's side (default 1024; --cpu-only: 512)")
    p.add_argument("--runs", type=int, default=3, help="timed runs on the device (default 3)")
    args = p.parse_args()
    device = "cpu" if args.cpu_only else "cuda"
    side = args.side or (512 if args.cpu_only else 2048)  # the CPU standing in: smaller images
    noisy_side = args.noisy_side or (512 if args.cpu_only else 1024)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g_up.onnx"
        proto = _export(build_model(), 1, 17, "torchscript")
        for key, value in {FORMAT_KEY: "1", "scale": "2", "channels": "1"}.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.save_model(proto, str(path))
        image = np.random.default_rng(0).random((side, side), dtype=np.float32)
        ok = compare(path, image, device, 1e-2, args.runs)
        noisy = sample_noisy_lr().data
        result = dualsr.train(noisy, preset_name="fast", iterations=20, device="cpu")
        print(f"noisy sample model: {result.summary()['noise']['reason']}")
        guided = result.export_onnx(Path(tmp) / "noisy_fast.onnx")
        reps = math.ceil(noisy_side / min(noisy.shape))
        tiled = np.tile(noisy, (reps, reps))[:noisy_side, :noisy_side]
        ok &= compare(guided, tiled, device, 0.01 * 65535, args.runs)  # 1 % of the 16-bit range
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
