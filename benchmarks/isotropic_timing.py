"""Time and memory of ``dualsr isotropic`` (docs/isotropic.md).

    python benchmarks/isotropic_timing.py timing --threads 2      # 256x256x64 at factor 4, in memory
    python benchmarks/isotropic_timing.py memory --side 512        # block-wise OME-Zarr run, peak RSS
    python benchmarks/isotropic_timing.py memory --side 2048 --threads 1 --cap-mb 2048   # under a memory cap

``timing``: a synthetic isotropic 256^3 volume acquired at factor 4 (Gaussian profile, FWHM 2.4 px)
into a 256x256x64 stack, then ``dualsr.isotropic`` with the blind profile and the default settings;
prints each phase's seconds, the CPU and the load average. ``memory``: a (16, side, side) uint16
OME-Zarr at factor 2 through ``dualsr isotropic ... .zarr`` (block 128, 50 steps) in a child process,
whose peak RSS is reported beside the input and output sizes; the same stack as an ImageJ TIFF block
by block (copied into a temporary Zarr, the result streamed back to TIFF), the same as a ``.nii.gz``
block by block (read and written in the file's order), and in memory as ``.npy``, as TIFF and as
``.nii.gz`` (``--runs`` picks some). ``--cap-mb`` runs every child under that address-space limit
(``RLIMIT_AS``, as ``ulimit -v``): a run that needs more fails, and its exit code and last line are
reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def cpu() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "?")


def timing(threads: int, size: int = 256, steps: int | None = None) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from isotropic_bench import synthetic

    import dualsr
    from dualsr.isotropic.degrade import degrade_axis
    from dualsr.isotropic.profile import named
    from dualsr.isotropic.train import TrainSettings

    torch.set_num_threads(threads)
    hr = synthetic(size)
    lr = (degrade_axis(hr, 0, 4.0, named("gaussian", 2.4)) * 20000).astype(np.uint16)
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    settings = TrainSettings() if steps is None else TrainSettings(steps=steps)
    result = dualsr.isotropic(lr, (2.0, 0.5, 0.5), settings=settings)
    wall, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {
        "input": list(lr.shape),
        "output": list(result.image.shape),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu_s, 1),  # CPU time of all threads: on a shared machine, wall >> cpu / threads
        "phases_s": {k: round(v, 1) for k, v in result.seconds.items()},
        "profile_fwhm_px": round(result.profile.fwhm, 2),
        "threads": threads,
        "cpu": cpu(),
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _cap(mb: int | None):
    if mb is None:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (mb * 2**20, mb * 2**20))


MEMORY_RUNS = ("blockwise_zarr", "blockwise_tif", "blockwise_nii", "in_memory_npy", "in_memory_tif", "in_memory_nii")


def memory(
    side: int, workdir: Path, threads: int, cap_mb: int | None = None, steps: int = 50, only: tuple = MEMORY_RUNS
) -> dict:
    import zarr

    workdir.mkdir(parents=True, exist_ok=True)
    src, out = workdir / f"in_{side}.zarr", workdir / f"out_{side}.zarr"
    if not src.exists():
        group = zarr.open_group(src, mode="w", zarr_format=3)
        arr = group.create_array("0", shape=(16, side, side), chunks=(16, 256, 256), dtype="uint16")
        rng = np.random.default_rng(0)
        for y in range(0, side, 256):
            from scipy import ndimage

            rows = min(256, side - y)
            arr[:, y : y + rows, :] = (ndimage.gaussian_filter(rng.random((16, rows, side)), 1.5) * 60000).astype(
                "uint16"
            )
        ds = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 0.5, 0.5]}]}]
        group.attrs["ome"] = {
            "version": "0.5",
            "multiscales": [{"axes": [{"name": a, "type": "space"} for a in "zyx"], "datasets": ds}],
        }
    if out.exists():
        import shutil

        shutil.rmtree(out)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    row = {"input_mb": round(16 * side * side * 2 / 2**20), "output_mb": round(32 * side * side * 2 / 2**20)}
    npy, tif = workdir / f"in_{side}.npy", workdir / f"in_{side}.tif"
    if not npy.exists():
        np.save(npy, zarr.open_array(src / "0", mode="r")[:])
    if not tif.exists():
        import tifffile

        tifffile.imwrite(tif, np.load(npy), imagej=True, metadata={"axes": "ZYX"}, compression="zlib")
    nii = workdir / f"in_{side}.nii.gz"
    if not nii.exists() and any(r.endswith("_nii") for r in only):
        import nibabel as nib

        nib.save(nib.Nifti1Image(np.load(npy).T, np.diag([0.5, 0.5, 1.0, 1.0])), nii)  # Z the file's third axis
    block = ["--block", "128"]
    runs = {
        "blockwise_zarr": (src, out, block),
        "blockwise_tif": (tif, workdir / f"out_{side}_blocks.tif", block),  # copied, then streamed back
        "in_memory_npy": (npy, workdir / f"out_{side}.npy", []),
        "in_memory_tif": (tif, workdir / f"out_{side}.tif", []),
        "blockwise_nii": (nii, workdir / f"out_{side}_blocks.nii.gz", block),  # one pass in, one pass out
        "in_memory_nii": (nii, workdir / f"out_{side}.nii.gz", []),
    }
    for name, (source, target, extra) in runs.items():
        if name not in only:
            continue
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        target.unlink(missing_ok=True) if target.is_file() else None
        cmd = [sys.executable, "-m", "dualsr.cli", "isotropic", str(source), "-o", str(target), "--steps", str(steps)]
        cmd += ["--voxel-size", "1.0,0.5,0.5", *extra]
        t0 = time.perf_counter()
        run = ["/usr/bin/time", "-v", *cmd]
        proc = subprocess.run(run, capture_output=True, text=True, env=env, preexec_fn=_cap(cap_mb))
        rss = next(ln for ln in proc.stderr.splitlines() if "Maximum resident" in ln).split(":")[1].strip()
        row[name] = {"peak_rss_mb": round(int(rss) / 1024), "wall_s": round(time.perf_counter() - t0, 1)}
        row[name]["rc"] = proc.returncode
        if proc.returncode:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(("\t", "Command"))]
            row[name]["last_line"] = lines[-1][:200] if lines else ""
    return {**row, "cpu": cpu(), "threads": threads, "cap_mb": cap_mb}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["timing", "memory"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--side", type=int, default=512)
    p.add_argument("--workdir", default="/tmp/isomem")
    p.add_argument("--cap-mb", type=int, default=None, help="address-space limit of each child run (MB)")
    p.add_argument("--size", type=int, default=256, help="timing: side of the synthetic volume (Z is size/4)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: timing 600, memory 50)")
    p.add_argument("--runs", default=",".join(MEMORY_RUNS), help="memory: which runs, comma-separated")
    args = p.parse_args()
    if args.mode == "timing":
        row = timing(args.threads, args.size, args.steps)
    else:
        only = tuple(args.runs.split(","))
        row = memory(args.side, Path(args.workdir), args.threads, args.cap_mb, args.steps or 50, only)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
