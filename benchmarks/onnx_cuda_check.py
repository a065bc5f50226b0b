"""Check the CUDA path of ``OnnxUpsampler`` on a machine with an NVIDIA GPU (CI has none).

    python benchmarks/onnx_cuda_check.py            # exits 1 if CUDA is not used or results differ

Exports the paper-size G_UP (random weights) with dualsr's exporter, runs a 2048x2048
float32 image through ``OnnxUpsampler`` on ``cuda`` and on ``cpu``, checks that the
session really got ``CUDAExecutionProvider`` and that both results agree, and prints
median timings.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from dualsr.errors import DualSRInputError
from dualsr.onnx_export import FORMAT_KEY, _export
from dualsr.onnx_runtime import CUDA, OnnxUpsampler

sys.path.insert(0, str(Path(__file__).parent))
from onnx_speed import build_model  # noqa: E402


def timed(up: OnnxUpsampler, image: np.ndarray, runs: int = 3) -> tuple[np.ndarray, float]:
    up.upsample(image[:256, :256])  # warm-up (CUDA context, cuDNN algorithm search)
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = up.upsample(image, tile=1024)
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g_up.onnx"
        proto = _export(build_model(), 1, 17, "torchscript")
        for key, value in {FORMAT_KEY: "1", "scale": "2", "channels": "1"}.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.save_model(proto, str(path))
        image = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
        try:
            gpu = OnnxUpsampler(path, device="cuda")
        except DualSRInputError as exc:
            print(f"FAIL: {exc}")
            return 1
        print("providers:", gpu.providers)
        if gpu.providers[0] != CUDA:
            print("FAIL: CUDA was not used")
            return 1
        sr_gpu, t_gpu = timed(gpu, image)
        sr_cpu, t_cpu = timed(OnnxUpsampler(path, device="cpu"), image, runs=1)
        diff = float(np.abs(sr_gpu - sr_cpu).max())
        print(f"2048x2048 -> 4096x4096: cuda {t_gpu:.2f} s, cpu {t_cpu:.2f} s, max abs diff {diff:.2e}")
        return 0 if diff < 1e-2 else 1


if __name__ == "__main__":
    sys.exit(main())
