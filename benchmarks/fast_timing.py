"""Wall time of the ``fast`` preset: the spectral kernel path against the GAN kernel path, interleaved.

    OMP_NUM_THREADS=1 python benchmarks/fast_timing.py --repeats 2

Both run the whole ``dualsr.train`` (noise decision, kernel, 500 steps, the final x2 pass) on
the bundled sample (256 x 256) and on a 256 x 256 crop of scikit-image's camera, one torch
thread, alternating old/new so that load on a shared machine hits both alike. Prints each
time, the per-image medians and their ratio, and the CPU.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from dualsr import train
from dualsr.config import preset
from dualsr.io.sample import sample_lr

PATHS = {"gan (before)": {"kernel_estimator": "gan"}, "spectral (now)": {}}


def images() -> dict[str, np.ndarray]:
    from skimage import data

    return {"sample 256x256": sample_lr().data, "camera 256x256": data.camera()[128:384, 128:384]}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--iterations", type=int, default=None, help="default: the fast preset's")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"CPU: {cpu_name()}, torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}")
    times: dict[tuple[str, str], list[float]] = {}
    for name, image in images().items():
        for r in range(args.repeats):
            for path, changes in PATHS.items() if r % 2 == 0 else reversed(PATHS.items()):
                start = time.perf_counter()
                train(image, config=preset("fast", iterations=args.iterations, **changes), device="cpu")
                seconds = time.perf_counter() - start
                times.setdefault((name, path), []).append(seconds)
                print(f"  {name}, {path}: {seconds:.1f} s", flush=True)
    for name in images():
        old, new = (float(np.median(times[(name, path)])) for path in PATHS)
        ratio = new / old
        print(f"{name}: gan {old:.1f} s, spectral {new:.1f} s (median of {args.repeats}): spectral/gan = {ratio:.2f}")


if __name__ == "__main__":
    main()
