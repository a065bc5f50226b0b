"""``dualsr degrade`` and ``dualsr bench``: the paper's evaluation protocol from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from dualsr.config import PRECISIONS
from dualsr.errors import DualSRInputError

EXIT_INTERRUPTED = 130


def _number(cast: Callable[[str], float], kind: str, ok: Callable[[float], bool], rule: str):  # noqa: ANN202
    """An argparse ``type``: ``cast`` the text, then require ``ok`` (messages name ``kind``/``rule``)."""

    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


_positive_float = _number(float, "a number", lambda v: v > 0, "positive")
_non_negative_float = _number(float, "a number", lambda v: v >= 0, ">= 0")
_positive_int = _number(int, "a whole number", lambda v: v >= 1, "at least 1")


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def add_degrade_command(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "degrade",
        help="make LR images from HR ones with DIV2KRK-style random kernels",
        description="Blur each HR image with a random DIV2KRK-style kernel (11x11 anisotropic Gaussian, "
        "variances U(0.6, 5), angle U(0, pi), +-25%% multiplicative noise, centre of mass aligned so "
        "LR pixel i sits at HR 2i+0.5) and subsample it. Writes OUTDIR/gt/NAME, OUTDIR/lr_xS/NAME "
        "(.png, or .tif where PNG cannot hold the data) and OUTDIR/gt_k_xS/NAME.npy (+ a PNG of the kernel): "
        "the layout 'dualsr bench' reads.",
    )
    d.add_argument("inputs", nargs="+", metavar="HR", help="HR images (grey or RGB): .png, .tif, .jpg or .npy")
    d.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the set")
    d.add_argument("--scale", type=int, choices=(2, 4), default=2, help="x2 (default) or x4 (two x2 steps)")
    d.add_argument("--seed", type=int, default=0, help="random seed; kernels depend on it and the file name")
    d.add_argument("--size", type=_positive_int, metavar="N", help="crop HR images to NxN first")
    d.add_argument(
        "--crop",
        choices=("centre", "detail"),
        default="centre",
        help="with --size: the centre, or the window with the most gradient energy (default: centre)",
    )
    _add_acquisition_option(d)
    _add_noise_options(d)
    d.set_defaults(func=cmd_degrade)


def _add_acquisition_option(parser: argparse.ArgumentParser, only: str = "") -> None:
    parser.add_argument(
        "--acquisition",
        choices=("gaussian-blur", "camera"),
        default="gaussian-blur",
        help=f"{only}how LR images are made: a DIV2KRK-style random Gaussian kernel then every other pixel "
        "(gaussian-blur, default), or a camera with pixels twice as wide: each LR pixel the mean of 2x2 HR "
        "pixels, the HR's own optical blur kept as the scene's (camera)",
    )


def _add_noise_options(parser: argparse.ArgumentParser, only: str = "") -> None:
    parser.add_argument(
        "--noise-gaussian",
        type=_non_negative_float,
        default=0.0,
        metavar="SIGMA",
        help=f"{only}add Gaussian noise to LR, sigma as a fraction of full scale (0.01 = 1%%; default 0)",
    )
    parser.add_argument(
        "--noise-poisson",
        type=_positive_float,
        metavar="PEAK",
        help=f"{only}add shot noise to LR: PEAK photons at full scale (e.g. 300); then the Gaussian noise",
    )


def cmd_degrade(args: argparse.Namespace) -> int:
    from dualsr.evaluation.sets import degrade_image, write_case, write_json
    from dualsr.io.files import read_image

    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise DualSRInputError(f"{out} exists and is not a folder; choose another --output-dir")
    names = [Path(p).stem for p in args.inputs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DualSRInputError(f"several inputs are named {', '.join(dupes)}; give the files different names")
    if any(p.resolve().parent.parent == out.resolve() for p in map(Path, args.inputs)):
        raise DualSRInputError(f"{out}: the inputs are inside this set's folders; choose another --output-dir")
    triples = []
    for path, name in zip(args.inputs, names):  # read and check everything before writing anything
        image = read_image(path)
        triples.append(
            degrade_image(
                image.data,
                name,
                scale=args.scale,
                seed=args.seed,
                size=args.size,
                noise_gaussian=args.noise_gaussian,
                noise_poisson=args.noise_poisson,
                crop=args.crop,
                acquisition=args.acquisition,
            )
        )
    out.mkdir(parents=True, exist_ok=True)
    infos = []
    for hr, lr, kernel, info in triples:
        write_case(out, info["name"], hr, lr, kernel, args.scale)
        infos.append(info)
        drawn = (
            f"variances {info['var_1']:.2f}, {info['var_2']:.2f}, angle {info['angle']:.2f}"
            if "var_1" in info
            else "2x2 pixel integration"
        )
        print(
            f"{info['name']}: HR {hr.shape[1]}x{hr.shape[0]} -> LR {lr.shape[1]}x{lr.shape[0]}, kernel "
            f"{kernel.shape[0]}x{kernel.shape[1]} ({drawn})"
        )
    write_json(out / "degradation.json", {"source": "files", "size": args.size, "images": infos})
    print(f"dualsr: wrote {len(infos)} LR/HR/kernel triple(s) to {out}")
    return 0


def add_bench_command(sub: argparse._SubParsersAction) -> None:
    from dualsr.evaluation.methods import METHODS, split_methods
    from dualsr.evaluation.sets import HELD_OUT_IMAGES, SCENE_IMAGES, SKIMAGE_IMAGES

    b = sub.add_parser(
        "bench",
        help="the paper's evaluation: PSNR/SSIM (Y) of bicubic, DualSR, true kernel and ablations",
        description="Run bicubic, DualSR (paper and fast presets), DualSR with the true kernel and the three "
        "ablations of Table 2 on a set of LR/HR(/kernel) triples; writes OUT/results.md, .csv, .json and "
        "OUT/figures/NAME.png. Resumable: finished (image, method) pairs are skipped on a rerun. For noisy sets "
        "(--noise-poisson, --noise-gaussian) denoise_bicubic (scikit-image NLM), wiener_bicubic (NLM + Wiener), "
        "bm3d_bicubic and denoise_fast denoise the LR first (its own noise estimate); every method is scored "
        "against the clean HR.",
    )
    b.add_argument(
        "data",
        metavar="DATA",
        help="a set folder in DIV2KRK's layout (gt/, lr_x2/, gt_k_x2/), or 'skimage' to generate one in OUT/set "
        f"from scikit-image's bundled images ({', '.join(SKIMAGE_IMAGES)}), 'held-out' for its others, which no "
        f"setting was chosen on ({', '.join(HELD_OUT_IMAGES)}), or 'scenes' to generate synthetic "
        f"fluorescence scenes recorded through a microscope by a camera and one with pixels twice as wide "
        f"({', '.join(SCENE_IMAGES)})",
    )
    b.add_argument("-o", "--output-dir", required=True, metavar="OUT", help="folder for runs, tables and figures")
    b.add_argument(
        "--methods",
        type=split_methods,
        default=["bicubic", "dualsr", "known_kernel", "no_interp", "no_forward", "no_backward", "fast", "fast_known"],
        metavar="M,M",
        help=f"comma-separated, run in this order, from: {', '.join(METHODS)} "
        "(default: the paper's methods, fast and fast_known); any of them with config fields changed is "
        "a variant, e.g. 'fast[lr_up=2e-3,lambda_interp=1]'",
    )
    b.add_argument("--images", type=_names, metavar="A,B", help="only these images (names without suffix)")
    b.add_argument(
        "--iterations",
        type=_positive_int,
        metavar="N",
        help="steps of the paper-preset methods (schedule compressed; default 3000 = the paper)",
    )
    b.add_argument("--fast-iterations", type=_positive_int, metavar="N", help="steps of the fast preset")
    b.add_argument("--seed", type=int, default=0, help="training seed (and, for 'skimage', the kernels' seed)")
    b.add_argument(
        "--size",
        type=_positive_int,
        metavar="N",
        help="'skimage' and 'scenes' only: crop HR images to the NxN window with the most detail (scenes: "
        "their HR size, default 384)",
    )
    _add_acquisition_option(b, "'skimage' only: ")
    _add_noise_options(b, "'skimage' and 'scenes' only: ")
    b.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to train")
    b.add_argument("--threads", type=_positive_int, metavar="N", help="torch CPU threads (default: torch's)")
    b.add_argument("--precision", choices=PRECISIONS, default="float32", help="G_UP precision (default float32)")
    b.add_argument("--figure-crop", type=_positive_int, default=64, metavar="N", help="HR crop side in figures")
    b.add_argument("--summary-only", action="store_true", help="only rebuild tables and figures from the stored runs")
    b.set_defaults(func=cmd_bench)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _generated_set(out: Path, args: argparse.Namespace) -> Path:
    """OUT/set: the 'skimage' or 'held-out' images or the 'scenes' asked for, generated once (seeded per name)."""
    from dualsr.evaluation.sets import (
        HELD_OUT_IMAGES,
        SCENE_IMAGES,
        SKIMAGE_IMAGES,
        make_scene_set,
        make_set,
        write_json,
    )

    photos = args.data != "scenes"  # scikit-image's images: 'skimage' or 'held-out'
    names = {"skimage": SKIMAGE_IMAGES, "held-out": HELD_OUT_IMAGES}.get(args.data, SCENE_IMAGES)
    acquisition = args.acquisition if photos else "camera"
    folder = out / "set"
    stamp = folder / "degradation.json"
    wanted = {
        "size": args.size,
        "seed": args.seed,
        "noise_gaussian": args.noise_gaussian,
        "noise_poisson_peak": args.noise_poisson,
        "acquisition": acquisition,
    }
    made = json.loads(stamp.read_text()) if stamp.is_file() else {**wanted, "images": []}
    made = {"noise_gaussian": 0.0, "noise_poisson_peak": None, "acquisition": "gaussian-blur", **made}  # older sets
    if any(made[k] != v for k, v in wanted.items()):
        raise DualSRInputError(
            f"{out} holds a set made with --size {made['size']} --seed {made['seed']} --noise-gaussian "
            f"{made['noise_gaussian']} --noise-poisson {made['noise_poisson_peak']} --acquisition "
            f"{made['acquisition']}; use the same options to resume, or another -o"
        )
    unknown = [n for n in args.images or [] if n not in names]
    if unknown:
        raise DualSRInputError(f"unknown image(s) {', '.join(unknown)}; the '{args.data}' set has {', '.join(names)}")
    have = {i["name"] for i in made["images"]}
    missing = [n for n in (args.images or names) if n not in have]
    if missing:
        _log(f"dualsr bench: generating {', '.join(missing)} in {folder}")
        noise = {"noise_gaussian": args.noise_gaussian, "noise_poisson": args.noise_poisson}
        if photos:
            make_set(folder, missing, seed=args.seed, size=args.size, acquisition=acquisition, log=_log, **noise)
        else:
            make_scene_set(folder, missing, seed=args.seed, size=args.size, log=_log, **noise)
        added = json.loads(stamp.read_text())["images"]
        made["images"] = sorted(made["images"] + added, key=lambda i: names.index(i["name"]))
        source = {"skimage": "scikit-image", "held-out": "scikit-image, held out"}.get(args.data, "scenes")
        write_json(stamp, {**made, "source": source})
    return folder


def cmd_bench(args: argparse.Namespace) -> int:
    from dualsr.evaluation.bench import run_bench
    from dualsr.evaluation.methods import BenchSettings, method_spec
    from dualsr.evaluation.report import write_figures, write_summary
    from dualsr.evaluation.sets import load_cases

    for m in args.methods:
        method_spec(m)  # a one-line error for an unknown method or a bad variant, before anything runs
    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise DualSRInputError(f"{out} exists and is not a folder; choose another -o")
    if args.data in ("skimage", "held-out", "scenes"):
        out.mkdir(parents=True, exist_ok=True)
        folder = _generated_set(out, args)
    else:
        folder = Path(args.data)
        if args.size:
            raise DualSRInputError("--size crops the generated 'skimage' set only; crop your own set beforehand")
        if args.noise_gaussian or args.noise_poisson:
            raise DualSRInputError(
                "--noise-gaussian/--noise-poisson add noise to the generated 'skimage' set only; "
                "make a noisy set with 'dualsr degrade --noise-poisson PEAK'"
            )
        if args.acquisition != "gaussian-blur":
            raise DualSRInputError(
                "--acquisition makes the generated 'skimage' set only; make one with 'dualsr degrade --acquisition'"
            )
        if not folder.is_dir():
            raise DualSRInputError(f"{folder}: no such folder; give a set folder (gt/, lr_x2/) or 'skimage'")
    cases = load_cases(folder, 2, args.images)
    out.mkdir(parents=True, exist_ok=True)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    settings = BenchSettings(args.iterations, args.fast_iterations, args.seed, args.device, args.precision)
    status = 0
    if not args.summary_only:
        try:
            run_bench(cases, args.methods, out, settings, log=_log)
        except KeyboardInterrupt:
            _log(f"dualsr bench: interrupted; finished runs are kept in {out / 'runs'} (rerun to resume)")
            status = EXIT_INTERRUPTED
    write_summary(out, args.methods)
    write_figures(out, cases, args.methods, crop=args.figure_crop)
    print((out / "results.md").read_text(), end="")
    _log(f"dualsr bench: wrote {out / 'results.md'}, results.csv, results.json and figures/")
    return status
