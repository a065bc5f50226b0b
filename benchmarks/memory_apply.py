"""Peak memory of `dualsr apply` on a large 16-bit image (issue 6: bounded, tiled inference).

    python benchmarks/memory_apply.py [--size 8192] [--features 8]

Trains a model with the paper's architecture but ``--features`` channels (a few steps:
only memory is measured here), exports it to ONNX, writes a ``size``x``size`` uint16 TIFF
and runs ``dualsr apply`` in a child process, reporting the child's peak RSS. The
64-feature model's tile workspace is measured on a 1024x1024 image (``--workspace-size``),
which runs the same 512-pixel tiles. Results are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

import dualsr
from dualsr.config import scheduled


def peak_apply(model: Path, image: Path, out: Path, tile: int) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one ``dualsr apply`` child process."""
    code = (
        "import resource, sys; from dualsr.cli.main import main; rc = main(sys.argv[1:]); "
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
    )
    start = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", code, "apply", str(model), str(image), "-o", str(out), "--tile", str(tile)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kb = int(next(line.split()[1] for line in p.stdout.splitlines() if line.startswith("PEAK")))
    return peak_kb / 1024, time.perf_counter() - start


def model_file(folder: Path, features: int) -> Path:
    rng = np.random.default_rng(0)
    img = (rng.random((200, 200)) * 60000).astype(np.uint16)
    cfg = scheduled(2, dualsr.DualSRConfig(up_features=features))
    path = folder / f"model_{features}.onnx"
    dualsr.train(img, config=cfg).export_onnx(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--workspace-size", type=int, default=1024, help="image side for the 64-feature model's row")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size, features in ((args.workspace_size, 64), (args.size, args.features)):
            image = folder / f"in_{size}.tif"
            data = (np.random.default_rng(1).random((size, size)) * 60000).astype(np.uint16)
            tifffile.imwrite(image, data)
            del data
            model = model_file(folder, features)
            peak, secs = peak_apply(model, image, folder / f"out_{size}.tif", args.tile)
            in_mb, out_mb = size * size * 2 / 2**20, 4 * size * size * 2 / 2**20
            rows.append((size, features, args.tile, in_mb, out_mb, peak, secs))
    print("| image | G_UP features | tile | input MB | output MB | peak RSS MB | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, f, tile, i, o, peak, secs in rows:
        print(f"| {size}x{size} uint16 | {f} | {tile} | {i:.0f} | {o:.0f} | {peak:.0f} | {secs:.0f} |")


if __name__ == "__main__":
    main()
