"""What the 180-degree self-ensemble costs at inference: the same fast upsampler with and without it.

    OMP_NUM_THREADS=1 python benchmarks/studies/inference/ensemble_cost.py --size 1024 --repeats 3

Trains the ``fast`` preset briefly on the bundled sample (the weights do not matter for time),
then times the whole x2 of a ``size``-square image through torch (``DualSRResult.upsample``) and
through onnxruntime (``OnnxUpsampler``), alternating with and without the ensemble so both
see the same background load. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from dualsr import train
from dualsr.config import preset
from dualsr.io.sample import sample_lr
from dualsr.runtime.onnx_runtime import OnnxUpsampler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    ensemble = train(sample_lr().data, config=preset("fast", iterations=3))
    single = copy.copy(ensemble)
    single.upsampler = copy.deepcopy(ensemble.upsampler)
    single.upsampler.ensemble = False
    image = np.tile(sample_lr().data, (args.size // 256 + 1, args.size // 256 + 1))[: args.size, : args.size]
    report(time_side_by_side({"without": single, "with the ensemble": ensemble}, image, args.repeats), args.size)


def time_side_by_side(results: dict, image: np.ndarray, repeats: int) -> dict[str, list[float]]:
    """Seconds of each result's x2 of ``image`` through torch and onnxruntime, runs alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        runners = {}
        for i, (name, result) in enumerate(results.items()):
            session = OnnxUpsampler(result.export_onnx(Path(tmp) / f"model{i}.onnx"), device="cpu")
            runners[f"torch|{name}"] = lambda r=result: r.upsample(image)
            runners[f"onnxruntime|{name}"] = lambda s=session: s.upsample(image)
        times: dict[str, list[float]] = {k: [] for k in runners}
        for _ in range(repeats):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    return times


def report(times: dict[str, list[float]], size: int) -> None:
    """Medians per engine, the first result against the second, and their ratio."""
    names = list(dict.fromkeys(k.split("|", 1)[1] for k in times))
    for engine in ("torch", "onnxruntime"):
        a, b = (statistics.median(times[f"{engine}|{n}"]) for n in names)
        print(f"{engine}: {size}^2 x2 {names[0]} {a:.2f} s, {names[1]} {b:.2f} s, ratio {b / a:.2f}")


if __name__ == "__main__":
    main()
