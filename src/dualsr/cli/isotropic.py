"""``dualsr isotropic IN -o OUT``: an anisotropic stack resampled to isotropic voxels, learned from itself.

TIFF, NIfTI and NumPy stacks are read whole. A Zarr / OME-Zarr input, a TIFF, NumPy or NIfTI stack
given ``--block``, or one too large for the memory free, is processed block by block
(:mod:`dualsr.isotropic.blockwise`): the model trains on a central part of the stack, then every
block is read with a margin, upsampled and written, on local threads or on dask (``--workers``,
``--scheduler``), to an OME-Zarr, TIFF, NumPy or NIfTI OUT.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dualsr.cli.progress import ProgressBar
from dualsr.config import DEFAULT_DENOISER, DENOISERS, NOISE_MODES, NOISY_THRESHOLD
from dualsr.errors import DualSRInputError
from dualsr.io.volume import check_volume_dtype, check_volume_output, read_volume, with_voxel_size, write_volume
from dualsr.isotropic.apply import FUSIONS
from dualsr.isotropic.blocks import DEFAULT_BLOCK
from dualsr.isotropic.blockwise import check_blockwise, isotropic_blockwise, memory_note, needs_blocks
from dualsr.isotropic.profile import SHAPES, read_profile
from dualsr.isotropic.train import TrainSettings
from dualsr.runtime.device import DEVICES

BLOCK = DEFAULT_BLOCK  # the block side where --block is not given


def _triple(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--voxel-size takes three numbers dz,dy,dx (got {text!r})") from None
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"--voxel-size takes three numbers dz,dy,dx (got {text!r})")
    return parts  # type: ignore[return-value]


def add_isotropic_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "isotropic",
        help="make an anisotropic stack (thick Z slices) isotropic, learned from the stack itself",
        description="Resample INPUT's Z to its in-plane pixel size: the slice profile is estimated blind (or "
        "given), an upsampler trains on the stack's own in-plane data degraded like its Z, and is applied to its "
        "XZ and YZ slices, which are fused. OUTPUT gets the new Z spacing in its metadata.",
    )
    p.add_argument("input", metavar="INPUT", help="3-D stack: .tif/.tiff (OME or ImageJ), .nii/.nii.gz, .npy or .zarr")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="result: .tif, .nii(.gz), .npy or .zarr")
    p.add_argument(
        "--voxel-size", type=_triple, metavar="DZ,DY,DX", help="voxel size, one unit for all (default: from the file)"
    )
    p.add_argument("--axes", help="axis letters of INPUT when the file does not say (must be ZYX)")
    g = p.add_argument_group(
        "slice profile",
        "default: estimated blind from the stack. It takes in any extra blur along Z (a confocal's axial PSF), so Z "
        "is sharpened towards the in-plane resolution; give --fwhm or --profile to restore Z as it was recorded.",
    )
    g.add_argument("--fwhm", type=float, metavar="F", help="the slice thickness (FWHM) in the voxel size's unit")
    g.add_argument(
        "--shape",
        choices=SHAPES,
        help="the profile's shape: with --fwhm, its shape (default: gaussian); alone, only the width is estimated",
    )
    g.add_argument("--profile", metavar="FILE", help="the profile as samples one in-plane pixel apart (.npy or text)")
    g.add_argument("--profile-out", metavar="FILE.txt", help="write the profile used (text, as --profile reads it)")
    g = p.add_argument_group("training and output")
    g.add_argument("--steps", type=int, default=TrainSettings.steps, help="training steps (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    g.add_argument("--device", choices=DEVICES, default="auto", help="auto uses CUDA when present (default: auto)")
    g.add_argument("--fusion", choices=FUSIONS, default="mean", help="how XZ and YZ results combine (default: mean)")
    g.add_argument(
        "--noise",
        choices=NOISE_MODES,
        default="auto",
        help=f"denoise each acquired plane first: auto where the measured noise is above {100 * NOISY_THRESHOLD:g} %% "
        "of full scale, "
        "and says so (default: auto)",
    )
    g.add_argument(
        "--denoiser", choices=DENOISERS, default=DEFAULT_DENOISER, help="the plane denoiser (default: %(default)s)"
    )
    g.add_argument("--onnx", metavar="MODEL.onnx", help="also save the through-plane model as ONNX")
    g.add_argument(
        "--block",
        type=int,
        metavar="N",
        help=f"run block by block, blocks of N x N pixels: for stacks larger than memory "
        f"(.zarr, .tif, .npy or .nii(.gz); a .zarr always runs so, the others on their own where too large for "
        f"the memory free; N {BLOCK})",
    )
    g.add_argument("--workers", type=int, metavar="N", help="block by block: run blocks on N local dask workers")
    g.add_argument("--scheduler", metavar="ADDRESS", help="block by block: run blocks on this dask scheduler")
    p.set_defaults(func=cmd_isotropic, memory_hint=f"run it block by block: --block {BLOCK} (a smaller N if it ran so)")


def cmd_isotropic(args: argparse.Namespace) -> int:
    from dualsr.isotropic.volume import isotropic

    inputs = [args.input] + ([args.profile] if args.profile else [])
    out = check_volume_output(args.output, inputs)
    if args.onnx and not args.onnx.endswith(".onnx"):
        raise DualSRInputError(f"{args.onnx}: the model file must end in .onnx")
    if args.steps < 1:
        raise DualSRInputError(f"--steps must be at least 1 (got {args.steps})")
    volume = with_voxel_size(read_volume(args.input, args.axes, lazy=True), args.voxel_size)
    check_volume_dtype(out, volume.data.dtype)
    blockwise = volume.kind == "zarr" or args.block is not None
    if not blockwise and (reason := needs_blocks(volume)) is not None:
        print(f"dualsr: {memory_note(reason, BLOCK)}")
        blockwise = True
    if blockwise:
        check_blockwise(volume, out)
    profile = read_profile(args.profile) if args.profile else None
    settings = TrainSettings(steps=args.steps, seed=args.seed)
    bar = ProgressBar("training")
    apply_bar: list[ProgressBar] = []

    def on_apply(done: int, total: int) -> None:
        if not apply_bar:
            apply_bar.append(ProgressBar("applying"))
        apply_bar[0].update(done, total)

    common = dict(
        fwhm=args.fwhm,
        shape=args.shape,
        profile=profile,
        fusion=args.fusion,
        noise=args.noise,
        denoiser=args.denoiser,
        settings=settings,
        device=args.device,
        progress=lambda r: bar.update(r.step, r.steps, f"L1 {r.loss:.4f}"),
        apply_progress=on_apply,
    )
    if blockwise:
        block = BLOCK if args.block is None else args.block
        stage_bar = ProgressBar("reading") if volume.kind != "zarr" else None
        common["stage_progress"] = stage_bar.update if stage_bar is not None else None
        result = isotropic_blockwise(volume, out, block, args.workers, args.scheduler, **common)
    else:
        result = isotropic(np.array(volume.data), volume.voxel_size, **common)  # read whole (lazy until here)
        write_volume(out, result.image, result.voxel_size, volume, result.summary(), result.z_translate_shift)
    written = [str(out)]
    if args.onnx:
        result.export_onnx(args.onnx)
        written.append(args.onnx)
    if args.profile_out:
        _write_profile(Path(args.profile_out), result.profile)
        written.append(args.profile_out)
    s = result.summary()
    if result.noise is not None:
        print(f"dualsr: {result.noise.reason}")
    for note in result.profile_notes(volume.unit):
        print(f"dualsr: {note}")
    print(
        f"dualsr: factor {result.factor:.3g}, voxel {_size(result.input_voxel_size)} -> {_size(result.voxel_size)}; "
        f"slice profile FWHM {s['profile_fwhm']:.4g} ({result.profile_source}, {result.profile.shape}); "
        f"{s['seconds']['total']:.0f} s on {result.device}; wrote {', '.join(written)}"
    )
    return 130 if result.stopped else 0


def _size(v: tuple[float, ...]) -> str:
    return "x".join(f"{x:.4g}" for x in v)


def _write_profile(path: Path, profile) -> None:  # noqa: ANN001
    """One weight per line, one in-plane pixel apart, centred: what --profile reads back."""
    from dualsr.io.files import atomic_write

    _, w = profile.weights(0.0)
    keep = np.nonzero(w >= 1e-3 * w.max())[0]
    reach = max(keep[-1] - len(w) // 2, len(w) // 2 - keep[0])
    w = w[len(w) // 2 - reach : len(w) // 2 + reach + 1]  # symmetric, tails under 0.1 % of the peak dropped
    text = f"# slice profile, FWHM {profile.fwhm:.4g} pixels ({profile.shape}); one weight per in-plane pixel\n"
    text += "\n".join(f"{v:.6g}" for v in w) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
