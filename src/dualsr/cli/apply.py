"""``dualsr apply``: a saved ONNX model on one image, many files, or a Zarr / OME-Zarr array.

One file to one file runs here, in this process, as it always has. Several files, a
folder or a glob go to a folder (one result per input, same names); a Zarr array or an
OME-Zarr image goes to a Zarr, block by block. Those two run on dask.distributed
(``--workers N`` local workers, or ``--scheduler ADDRESS``) and resume: a rerun of the
same command skips the files and blocks already written.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.cli.progress import ProgressBar
from dualsr.cli.quality import _positive_int
from dualsr.errors import DualSRInputError
from dualsr.inference.blocks import block_size, check_dtype, chunk_shape
from dualsr.io.files import SUFFIXES, check_output
from dualsr.io.zarr_io import (
    ZarrArray,
    ZarrOutput,
    check_output_zarr,
    is_zarr,
    model_digest,
    open_input,
    prepare_output,
)
from dualsr.runtime.device import DEVICES
from dualsr.scale.batch import ArrayJob, apply_array, apply_file, apply_files, rebuild_levels
from dualsr.scale.cluster import ModelSpec, capacity, client, executor

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
GLOB = "*?["


def add_apply_command(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "apply",
        help="super-resolve images or whole datasets with a saved ONNX model (no training)",
        description="Apply MODEL.onnx (from `dualsr train --onnx`) to every plane of INPUT and write the x2 "
        "result to OUTPUT: for other images from the instrument the model was trained on. One file gives one "
        "file. Several files, a folder or a glob give a folder OUTPUT with one result per input (same names); "
        "a Zarr array or OME-Zarr image gives a Zarr OUTPUT (OME-Zarr: pixel size halved, levels rebuilt). "
        "Those run on dask (--workers, --scheduler), and a rerun skips what is already written.",
    )
    a.add_argument("model", metavar="MODEL.onnx", help="ONNX file written by `dualsr train --onnx`")
    a.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image file(s) (.tif/.tiff, .png, .jpg, .npy), a folder of them, a quoted glob, or a .zarr",
    )
    a.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="x2 result: a file, a folder or a .zarr (see above)"
    )
    a.add_argument(
        "--tile",
        type=int,
        metavar="N",
        help="LR tile side, 0 = one piece; results are equal (default: 512). For Zarr the block side: each "
        "block is one output chunk of 2N (default: the input's chunks)",
    )
    a.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto uses CUDA when onnxruntime can (default: auto)"
    )
    a.add_argument("--axes", help="axis letters of INPUT, e.g. YX, YXC, CYX, ZYX (default: from the file)")
    a.add_argument(
        "--allow-foreign",
        action="store_true",
        help="run an ONNX upsampler not made by dualsr (one float32 (N, C, H, W) input in [0, 1])",
    )
    g = a.add_argument_group("whole datasets (several files, folders, Zarr)")
    g.add_argument(
        "--workers", type=_positive_int, metavar="N", help="start N local dask workers (default: one per core)"
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use the dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786); inputs and OUTPUT must be on a disk "
        "every worker sees",
    )
    a.set_defaults(func=cmd_apply)


def cmd_apply(args: argparse.Namespace) -> int:
    if args.workers and args.scheduler:
        raise DualSRInputError("give --workers (local workers) or --scheduler (a running cluster), not both")
    out = Path(args.output)
    if len(args.inputs) == 1 and is_zarr(args.inputs[0]):
        return _apply_zarr(args, Path(args.inputs[0]), out)
    if any(is_zarr(i) for i in args.inputs):
        raise DualSRInputError("give one Zarr at a time (a Zarr is one dataset with its own output)")
    single = len(args.inputs) == 1 and Path(args.inputs[0]).is_file() and not out.is_dir()
    return _apply_one(args, out) if single else _apply_folder(args, out)


def _apply_one(args: argparse.Namespace, out: Path) -> int:
    """One file to one file, in this process (no cluster)."""
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    check_output(out, [args.inputs[0], args.model])
    model = OnnxUpsampler(args.model, args.device, allow_foreign=args.allow_foreign)
    start = time.perf_counter()
    tile = 512 if args.tile is None else args.tile
    apply_file(model, args.inputs[0], out, args.axes, tile, ProgressBar("applying").update)
    seconds = time.perf_counter() - start
    print(f"dualsr: applied {model.path.name} in {seconds:.1f} s on {model.providers[0]}; wrote {out}")
    return 0


def expand_inputs(items: list[str]) -> list[Path]:
    """Files named, in folders (not recursive) and matched by globs, in order; each checked."""
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if _image(f))
            if not found:
                raise DualSRInputError(f"{path}: no images in this folder ({', '.join(SUFFIXES)})")
        elif any(c in item for c in GLOB) and not path.exists():
            found = sorted(Path(f) for f in glob.glob(item) if _image(Path(f)))
            if not found:
                raise DualSRInputError(f"{item}: no image files match this pattern")
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise DualSRInputError(f"{path.name}: unsupported file type; use one of {', '.join(SUFFIXES)}")
            found = [path]
        else:
            raise DualSRInputError(f"{path}: no such file or folder; check the path")
        files.extend(found)
    return files


def _image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def output_pairs(files: list[Path], folder: Path, model: str) -> list[tuple[Path, Path]]:
    """``(input, folder/input.name)``; refuses name clashes and outputs that would replace an input."""
    if folder.exists() and not folder.is_dir():
        raise DualSRInputError(f"{folder} is a file; with several inputs OUTPUT is a folder (one result per input)")
    if not folder.resolve().parent.is_dir():
        raise DualSRInputError(f"{folder}: the folder {folder.resolve().parent} does not exist; create it first")
    pairs, seen = [], {}
    inputs = {f.resolve() for f in files} | {Path(model).resolve()}
    for f in files:
        if f.name in seen and seen[f.name] != f.resolve():
            raise DualSRInputError(f"{f.name} is in two input folders; both would be written to {folder / f.name}")
        seen[f.name] = f.resolve()
        target = folder / f.name
        if target.resolve() in inputs:
            raise DualSRInputError(f"{target}: the output would overwrite an input; choose another OUTPUT folder")
        pairs.append((f, target))
    return list(dict(pairs).items())


def _apply_folder(args: argparse.Namespace, folder: Path) -> int:
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    pairs = output_pairs(expand_inputs(args.inputs), folder, args.model)
    OnnxUpsampler(args.model, "cpu", allow_foreign=args.allow_foreign)  # a bad model: one line, before any work
    if all(d.exists() for _, d in pairs):
        print(f"dualsr: all {len(pairs)} results are already in {folder}; nothing to do")
        return 0
    tile = 512 if args.tile is None else args.tile
    with client(args.workers, args.scheduler) as c:
        folder.mkdir(exist_ok=True)
        try:
            report = apply_files(executor(c), 2 * capacity(c), _spec(args), pairs, args.axes, tile, _bars())
        except KeyboardInterrupt:
            done = sum(d.exists() for _, d in pairs)
            return _interrupted(f"{done} of {len(pairs)} files are written to {folder}")
        where = _workers(c)
    skipped = f" ({report.skipped} already written, skipped)" if report.skipped else ""
    print(
        f"dualsr: applied {Path(args.model).name} to {report.written} files in {report.seconds:.1f} s on "
        f"{where}{skipped}; wrote {folder}"
    )
    for line in report.failed:
        print(f"dualsr: error: {line}", file=sys.stderr)
    if report.failed:
        print(
            f"dualsr: error: {len(report.failed)} of {len(pairs)} inputs failed (above); fix or remove them and run "
            "the same command again (written files are skipped)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0


def _apply_zarr(args: argparse.Namespace, path: Path, out: Path) -> int:
    from dualsr._version import __version__
    from dualsr.runtime.onnx_runtime import OnnxUpsampler

    source = open_input(path, args.axes)
    model = OnnxUpsampler(args.model, "cpu", allow_foreign=args.allow_foreign)
    layout = model.check_layout(tuple(source.array.shape), source.axes)
    check_dtype(source.array.dtype)
    if args.tile is not None and 0 < args.tile < 16:
        raise DualSRInputError(f"tile {args.tile} is too small; use 0 (the input's chunks) or at least 16 pixels")
    size = block_size(args.tile or 0, source.array.chunks, layout)
    job = {
        "input": str(source.path.resolve()),
        "model_sha256": model_digest(args.model),
        "block": list(size),
        "axes": layout.axes,
        "dualsr": __version__,
    }
    record = check_output_zarr(out, job, source)
    if record and record.get("complete"):
        print(f"dualsr: {out} is already complete; nothing to do")
        return 0
    with client(args.workers, args.scheduler) as c:
        chunks = chunk_shape(layout, size, model.scale)
        target = prepare_output(out, layout, source.array.dtype, model.scale, chunks, job, source)
        reader = ZarrArray(str(source.path.resolve()))
        array_job = ArrayJob(_spec(args), model, reader, layout, source.array.dtype, size, target)
        pool, ahead = executor(c), 2 * capacity(c)
        try:
            report = apply_array(pool, ahead, array_job, _bars())
            if source.ome:
                rebuild_levels(pool, ahead, array_job, source, _bars())
        except KeyboardInterrupt:
            done = len(target.written(_all_chunks(target)))
            return _interrupted(f"{done} of {target.array.nchunks} blocks are written to {out}")
        where = _workers(c)
    target.save(complete=True, model=Path(args.model).name)
    skipped = f" ({report.skipped} already written, skipped)" if report.skipped else ""
    kind = f"OME-Zarr {source.ome.version}, {source.ome.levels} levels" if source.ome else "Zarr"
    print(
        f"dualsr: applied {Path(args.model).name} to {report.written} blocks in {report.seconds:.1f} s on "
        f"{where}{skipped}; wrote {out} ({kind})"
    )
    return 0


def _workers(c: Any) -> str:
    n = len(c.nthreads())
    return f"{n} dask worker{'s' if n != 1 else ''}"


def _all_chunks(target: ZarrOutput) -> list[tuple[int, ...]]:
    return [tuple(int(i) for i in c) for c in np.ndindex(*target.array.cdata_shape)]


def _spec(args: argparse.Namespace) -> ModelSpec:
    return ModelSpec(str(Path(args.model).resolve()), args.device, args.allow_foreign, model_digest(args.model))


def _bars() -> Callable[[str, int, int], None]:
    """One progress line per phase (normalising, blocks or files, pyramid levels)."""
    bars: dict[str, ProgressBar] = {}
    labels = {"files": "applying", "blocks": "applying"}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in bars:
            bars[phase] = ProgressBar(labels.get(phase, phase))
        bars[phase].update(done, total)

    return update


def _interrupted(what: str) -> int:
    print(f"\ndualsr: interrupted; {what}; run the same command again to finish", file=sys.stderr)
    return EXIT_INTERRUPTED
