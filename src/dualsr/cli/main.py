"""The ``dualsr`` command line: train, apply (a saved ONNX model), isotropic, export-bioimageio, demo.

Errors a user can fix exit with status 2 and one line on stderr; nothing is written
unless the whole run succeeds (Ctrl-C once: training stops and the result so far is
saved, status 130; twice: nothing is saved). Training that ran out of GPU memory saves
the result of its last finished step and exits with status 3.
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dualsr._version import __version__
from dualsr.cli.apply import add_apply_command
from dualsr.cli.isotropic import add_isotropic_command
from dualsr.cli.progress import ProgressBar
from dualsr.cli.quality import add_bench_command, add_degrade_command
from dualsr.config import ACQUISITIONS, DENOISERS, KERNEL_ESTIMATORS, NOISE_KERNELS, NOISE_MODES, PRESETS, preset
from dualsr.engine.loop import StepInfo
from dualsr.engine.result import DualSRResult
from dualsr.engine.train import train
from dualsr.errors import DualSRInputError
from dualsr.io.acquisition import Instrument
from dualsr.io.files import ImageFile, atomic_write, check_output, read_image, read_kernel, write_image, x2_file
from dualsr.runtime.device import DEVICES
from dualsr.trust.doubt import summary as doubt_summary

EXIT_IO = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a killed job


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _plane(text: str) -> int | tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--plane takes an index like 3 or 2,5 (got {text!r})") from None
    return parts[0] if len(parts) == 1 else parts


def _add_training_options(p: argparse.ArgumentParser, default_preset: str = "paper") -> None:
    g = p.add_argument_group("training")
    g.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=default_preset,
        help="paper: the paper's 3000 steps; fast: fewer steps, schedule compressed, narrower G_UP "
        f"(quality cost: docs/performance.md) (default: {default_preset})",
    )
    g.add_argument(
        "--iterations", type=int, metavar="N", help="training steps; the preset's schedule is compressed to N steps"
    )
    g.add_argument(
        "--seed", type=int, default=0, help="random seed; same seed and device give the same result (default: 0)"
    )
    g.add_argument(
        "--device", choices=DEVICES, default="auto", help="where to train: auto uses CUDA when present (default: auto)"
    )
    g.add_argument("--scale", type=int, default=2, help="super-resolution factor; DualSR supports 2 (default: 2)")
    g.add_argument(
        "--kernel-estimator",
        choices=KERNEL_ESTIMATORS,
        help="gan: the paper's G_DN trained against D_DN; spectral: a closed-form estimate from the image's "
        "spectrum, held fixed (default: the preset's: paper gan, fast spectral)",
    )
    g.add_argument(
        "--noise",
        choices=NOISE_MODES,
        help="noise model: on trains on denoised targets with matching noise, off is the paper's noise-free "
        "model, auto decides from the measured noise and says so (default: the preset's: paper off, fast auto)",
    )
    g.add_argument(
        "--denoiser",
        choices=DENOISERS,
        help="what makes the noise model's clean targets: nlm_wiener (non-local means refined by a Wiener "
        "filter), nlm, or bm3d where that package is installed (default: nlm_wiener)",
    )
    g.add_argument(
        "--noise-kernel",
        choices=NOISE_KERNELS,
        help="where the noise model reads the spectral kernel: noisy, the image itself with a noise-aware fit; "
        "clean_copy, the denoised copy (default: noisy)",
    )
    g.add_argument(
        "--noise-guide",
        choices=("on", "off"),
        help="with the noise model on: G_UP also reads the image denoised by a non-local-means + Wiener "
        "denoiser that is part of the model and its ONNX file (default: the preset's: paper off, fast on)",
    )
    g.add_argument(
        "--acquisition",
        choices=ACQUISITIONS,
        help="how the image was made: camera (recorded by a camera: the x2 kernel is pixel integration, the "
        "optics stay in the scene), gaussian-blur (blurred by an unknown kernel and subsampled: the kernel is "
        "estimated), auto (decided from the metadata and the image, and said; an untrustworthy estimate falls "
        "back to camera) (default: the preset's: paper gaussian-blur, fast auto)",
    )
    g.add_argument(
        "--back-projection",
        type=int,
        metavar="STEPS",
        help="back-projection steps that make the x2 agree with the LR through the kernel, halo-free; "
        "with the noise model on, onto the denoised copy in smaller steps; 0 turns it off "
        "(default: the preset's: paper 0, fast 10)",
    )
    g.add_argument(
        "--cross-scale-check",
        choices=("on", "off"),
        help="keep only the detail that holds up one scale down, where the image itself is the truth; takes "
        "back unconfirmed detail towards bicubic, never sharpens (default: the preset's: paper off, fast on; "
        "not with the noise model)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dualsr",
        description="Zero-shot x2 super-resolution of an image from that image alone (DualSR, WACV 2021).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser(
        "train",
        help="train on an image and write its x2 super-resolution",
        description="Train DualSR on INPUT (one plane of it) and write the x2 result of every plane to OUTPUT.",
    )
    t.add_argument("input", metavar="INPUT", help="image: .tif/.tiff, .png, .jpg or .npy")
    t.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="x2 result: .tif/.tiff, .png, .jpg or .npy")
    _add_training_options(t)
    _add_instrument_options(t)
    g = t.add_argument_group("image")
    g.add_argument(
        "--axes",
        help="axis letters of INPUT, e.g. YX, YXC, CYX, ZYX, TZCYX (default: from the file, or YX / YXC for 2D / RGB)",
    )
    g.add_argument(
        "--plane",
        type=_plane,
        metavar="I",
        help="stack plane to train on: flat index or one index per stack axis, e.g. 2,5 (default: middle)",
    )
    g.add_argument(
        "--channels",
        choices=["auto", "joint", "independent"],
        default="auto",
        help="joint: one model for all channels (RGB); independent: one per channel (fluorescence); "
        "auto decides by the axes",
    )
    g.add_argument(
        "--normalization",
        choices=["auto", "dtype", "percentile"],
        default="auto",
        help="how intensities map to [0, 1]: dtype range (8-bit) or 0.1/99.9 percentiles (default: auto)",
    )
    g.add_argument(
        "--tile",
        type=int,
        default=512,
        metavar="N",
        help="LR tile side for inference; results equal untiled inference (default: 512)",
    )
    g = t.add_argument_group("kernel and extra outputs")
    g.add_argument(
        "--known-kernel", metavar="K", help="use this kernel/PSF (.npy or .tif, HR pixels) instead of estimating one"
    )
    g.add_argument("--kernel-out", metavar="K", help="write the estimated kernel (.npy or .tif; sums to 1)")
    g.add_argument("--history-out", metavar="H.csv", help="write the per-step losses as CSV")
    g.add_argument(
        "--doubt-out",
        metavar="D",
        help="also write the doubt map (.tif or .npy, float32, x2 grid): per pixel, how far the x2 may be from "
        "what the data support, as a fraction of the image's range (one more pass over the image)",
    )
    g.add_argument(
        "--onnx",
        metavar="MODEL.onnx",
        help="also save the trained upsampler as one ONNX file; apply it to other images with `dualsr apply`",
    )
    t.set_defaults(func=cmd_train)
    add_apply_command(sub)
    add_isotropic_command(sub)
    _add_export_bioimageio(sub)

    d = sub.add_parser(
        "demo",
        help="run on the bundled sample image (no download)",
        description="Train on the bundled degraded microscopy sample and write the x2 image, the kernel "
        "and a side-by-side PNG.",
    )
    d.add_argument(
        "-o",
        "--output-dir",
        default="dualsr-demo",
        metavar="DIR",
        help="folder for the results (default: ./dualsr-demo)",
    )
    _add_training_options(d, default_preset="fast")
    d.set_defaults(func=cmd_demo)
    add_degrade_command(sub)
    add_bench_command(sub)
    return parser


def _add_export_bioimageio(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "export-bioimageio",
        help="package a saved ONNX model for the BioImage Model Zoo (deepImageJ, ilastik, QuPath ...)",
        description="Write OUT.zip: a bioimage.io model package (spec 0.5) with MODEL.onnx as weights, test "
        "tensors, a cover, documentation and the estimated kernel.",
    )
    b.add_argument("model", metavar="MODEL.onnx", help="ONNX file written by `dualsr train --onnx`")
    b.add_argument("output", metavar="OUT.zip", help="the package to write")
    b.add_argument("--sample", metavar="IMAGE", help="image to take the test input from (default: a synthetic one)")
    b.add_argument("--axes", help="axis letters of --sample (default: from the file)")
    b.add_argument("--name", help="model name shown in the zoo (letters, digits, spaces, _+-(); default: from MODEL)")
    b.add_argument("--author", action="append", metavar="NAME", help="author name; repeat for several")
    b.set_defaults(func=cmd_export_bioimageio)


def _progress_callbacks() -> tuple[Callable[[StepInfo], None], Callable[[int, int], None]]:
    bar = ProgressBar("training")
    apply_bars: list[ProgressBar] = []

    def on_apply(done: int, total: int) -> None:
        if not apply_bars:
            apply_bars.append(ProgressBar("applying"))
        apply_bars[0].update(done, total)

    def on_step(info: StepInfo) -> None:
        losses = info.losses
        bar.update(
            info.step,
            info.iterations,
            f"cycle {losses['cycle_forward'] + losses['cycle_backward']:.4f} interp {losses['interp']:.4f}",
        )

    return on_step, on_apply


class _StopOnInterrupt:
    """First Ctrl-C asks training to stop after the current step; the second aborts."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _StopOnInterrupt:
        self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ANN001
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ndualsr: stopping after this step (Ctrl-C again to abort without saving)", file=sys.stderr)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        signal.signal(signal.SIGINT, self._old)


def _run_training(image: ImageFile, args: argparse.Namespace, known: np.ndarray | None = None) -> DualSRResult:
    chosen = {
        "kernel_estimator": args.kernel_estimator,
        "noise": args.noise,
        "denoiser": args.denoiser,
        "noise_kernel": args.noise_kernel,
        "noise_guide": None if args.noise_guide is None else args.noise_guide == "on",
        "back_projection": args.back_projection,
        "cross_scale_check": None if args.cross_scale_check is None else args.cross_scale_check == "on",
    }
    chosen["acquisition"] = args.acquisition
    overrides = {k: v for k, v in chosen.items() if v is not None}
    config = preset(args.preset, iterations=args.iterations, seed=args.seed, scale=args.scale, **overrides)
    on_step, on_apply = _progress_callbacks()
    with _StopOnInterrupt() as stop:
        result = train(
            image.data,
            axes=getattr(args, "axes", None) or image.axes,
            config=config,
            plane=getattr(args, "plane", None),
            channel_mode=getattr(args, "channels", "auto"),
            normalization=getattr(args, "normalization", "auto"),
            known_kernel=known,
            device=args.device,
            tile=getattr(args, "tile", 512),
            progress=on_step,
            should_stop=lambda: stop.requested,
            apply_progress=on_apply,
            instrument=_instrument(image, args),
            doubt=bool(getattr(args, "doubt_out", None)),
        )
    return result


def _add_instrument_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("acquisition (read from OME-TIFF / ImageJ TIFF metadata where present; given values win)")
    g.add_argument("--pixel-size", type=float, metavar="UM", help="pixel size in the sample, in micrometres")
    g.add_argument("--na", type=float, metavar="NA", help="numerical aperture of the objective")
    g.add_argument("--wavelength", type=float, metavar="NM", help="emission wavelength in nanometres")
    g.add_argument("--immersion-index", type=float, metavar="N", help="refractive index of the immersion medium")


def _instrument(image: ImageFile, args: argparse.Namespace) -> Instrument | None:
    """What recorded ``image``: its file's metadata, with the values given on the command line winning."""
    values = [getattr(args, k, None) for k in ("pixel_size", "na", "wavelength", "immersion_index")]
    given = Instrument(*values, source="given") if any(v is not None for v in values) else None
    if image.instrument is None:
        return given
    return image.instrument.merged(given)


def _output_image(result: DualSRResult, source: ImageFile) -> ImageFile:
    return x2_file(source, result.image, result.axes, result.summary())


def _doubt_file(result: DualSRResult, source: ImageFile) -> ImageFile:
    """The doubt map on the x2's grid and pixel size (no channel axis: the channels' largest doubt)."""
    pixel = tuple(p / 2 for p in source.pixel_size) if source.pixel_size else None
    info = {"doubt": doubt_summary(result.doubt), "unit": "fraction of the image's intensity range"}
    return ImageFile(result.doubt, result.axes.replace("C", ""), pixel, source.unit, {"Info": json.dumps(info)})


def write_history(path: Path, result: DualSRResult) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            for group, hist in enumerate(result.history):
                names = list(hist)
                if group == 0:
                    w.writerow(["group", "step", *names])
                for i in range(len(hist[names[0]])):
                    w.writerow([group, i + 1, *(f"{hist[n][i]:.6g}" for n in names)])

    atomic_write(path, write)


def _kernel_file(path: Path, kernel: np.ndarray) -> None:
    write_image(path, ImageFile(kernel.astype(np.float32), "YX" if kernel.ndim == 2 else "CYX"))


def cmd_train(args: argparse.Namespace) -> int:
    inputs = [args.input] + ([args.known_kernel] if args.known_kernel else [])
    out = check_output(args.output, inputs)
    if args.kernel_out:
        check_output(args.kernel_out, inputs + [args.output], suffixes=(".npy", ".tif", ".tiff"))
    if args.history_out:
        check_output(args.history_out, inputs + [args.output], suffixes=(".csv",))
    if args.doubt_out:
        check_output(args.doubt_out, inputs + [args.output], suffixes=(".npy", ".tif", ".tiff"))
    if args.onnx:
        check_output(args.onnx, inputs + [args.output], suffixes=(".onnx",))
    source = read_image(args.input)
    known = read_kernel(args.known_kernel) if args.known_kernel else None
    result = _run_training(source, args, known)
    if args.onnx:  # first: its export checks itself against torch and may refuse
        result.export_onnx(args.onnx)
    write_image(out, _output_image(result, source))
    written = [str(out)] + ([args.onnx] if args.onnx else [])
    if args.kernel_out:
        _kernel_file(Path(args.kernel_out), result.kernel)
        written.append(args.kernel_out)
    if args.history_out:
        write_history(Path(args.history_out), result)
        written.append(args.history_out)
    if args.doubt_out:
        write_image(Path(args.doubt_out), _doubt_file(result, source))
        written.append(args.doubt_out)
    return _report(result, written)


def _report(result: DualSRResult, written: list[str]) -> int:
    status = f"stopped at step {result.steps}" if result.stopped else f"{result.steps} steps"
    print(f"dualsr: {status} in {result.seconds:.1f} s on {result.device}; wrote {', '.join(written)}")
    if result.noise is not None:
        print(f"dualsr: {result.noise.reason}")
    for decision in result.acquisition:
        print(f"dualsr: acquisition {decision.model}: {decision.reason}")
    if result.enlargement_warning:
        print(f"dualsr: warning: {result.enlargement_warning}", file=sys.stderr)
    if result.kernel_warning:
        print(f"dualsr: warning: {result.kernel_warning}", file=sys.stderr)
    if result.detail_warning:
        print(f"dualsr: warning: {result.detail_warning}", file=sys.stderr)
    if result.verdict:
        print(f"dualsr: {result.verdict}")
    if result.stop_reason:
        print(f"dualsr: warning: {result.stop_reason}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_INTERRUPTED if result.stopped else 0


def cmd_export_bioimageio(args: argparse.Namespace) -> int:
    from dualsr.runtime.model_zoo import export_bioimageio

    out = check_output(args.output, [args.model] + ([args.sample] if args.sample else []), suffixes=(".zip",))
    sample = read_image(args.sample) if args.sample else None
    export_bioimageio(
        args.model,
        out,
        sample=sample.data if sample else None,
        axes=args.axes or (sample.axes if sample else None),
        name=args.name,
        authors=args.author,
    )
    print(f"dualsr: wrote {out} (bioimage.io model package; check it with `bioimageio test {out}`)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dualsr.evaluation.figures import comparison
    from dualsr.evaluation.metrics import psnr
    from dualsr.io.sample import sample_hr, sample_kernel, sample_lr
    from dualsr.paper.resize import bicubic_resize_np

    folder = Path(args.output_dir)
    if folder.exists() and not folder.is_dir():
        raise DualSRInputError(f"{folder} exists and is not a folder; choose another --output-dir")
    folder.mkdir(parents=True, exist_ok=True)
    lr, hr, true_k = sample_lr(), sample_hr(), sample_kernel()
    print(
        f"dualsr demo: {lr.data.shape[1]}x{lr.data.shape[0]} 16-bit microscopy sample, blurred by a known kernel; "
        f"preset {args.preset}",
        file=sys.stderr,
    )
    args.doubt_out = folder / "sample_doubt.tif"
    result = _run_training(lr, args)
    sr_path, k_path, png_path = folder / "sample_x2.tif", folder / "sample_kernel.npy", folder / "sample_comparison.png"
    write_image(sr_path, _output_image(result, lr))
    write_image(k_path, ImageFile(result.kernel))
    write_image(args.doubt_out, _doubt_file(result, lr))
    fig = comparison(lr.data, result.image, hr.data, {"true kernel": true_k, "estimated": result.kernel})
    atomic_write(png_path, lambda tmp: fig.save(tmp, format="PNG"))
    data_range = float(hr.data.max() - hr.data.min())
    bicubic = bicubic_resize_np(lr.data.astype(np.float64), 2.0)
    print(
        f"PSNR vs the HR original: bicubic {psnr(bicubic, hr.data, data_range):.2f} dB, "
        f"DualSR {psnr(result.image, hr.data, data_range):.2f} dB"
    )
    return _report(result, [str(sr_path), str(k_path), str(png_path), str(args.doubt_out)])


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings (e.g. a fallback to the CPU) as one line, like errors."""
    print(f"dualsr: warning: {message}", file=sys.stderr)


def _terminate(signum, frame) -> None:  # noqa: ANN001
    """SIGTERM (a job killed, a session closed) ends the run as an exit does: temporary files are removed."""
    print("dualsr: terminated; nothing was written", file=sys.stderr)
    raise SystemExit(EXIT_TERMINATED)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    old = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except DualSRInputError as exc:
        print(f"dualsr: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dualsr: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as exc:
        hint = getattr(args, "memory_hint", "free memory; an image larger than memory goes block by block as a .zarr")
        print(f"dualsr: error: out of memory ({exc or 'no detail'}); {hint}", file=sys.stderr)
        return EXIT_IO
    except OSError as exc:  # disk full, permissions: say which file, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dualsr: error: {where}{exc.strerror or exc}; check the disk and the permissions", file=sys.stderr)
        return EXIT_IO
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":
    sys.exit(main())
