"""The paper's evaluation protocol (Table 1, Table 2) as a resumable benchmark.

A *set* is a folder in DIV2KRK's layout::

    gt/NAME.png           HR ground truth (or .tif)
    lr_x2/NAME.png        LR input (HR degraded by the true kernel, x2)
    gt_k_x2/NAME.npy      true kernel (optional; DIV2KRK's kernel_N.mat for im_N also read)

:func:`make_set` writes one from HR images (scikit-image's bundled natural and
microscopy images by default) with DIV2KRK-style random kernels (:mod:`dualsr.degrade`).
:func:`run_bench` runs every method on every image and keeps one JSON per
(image, method) under ``OUT/runs/``, skipping those already there with the same
settings; :func:`summarise` turns them into tables (Markdown, CSV, JSON) and figures.
"""

from __future__ import annotations

import csv
import json
import platform
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .degrade import add_noise, centre_crop, crop_to_scale, degrade, random_kernel
from .denoise import DEFAULT_DENOISER, denoise, require_denoiser
from .errors import DualSRInputError
from .imageio import ImageFile, atomic_write, read_image, write_image
from .metrics import comparable_kernels, kernel_error, sr_metrics, to_y
from .normalize import to_dtype
from .resize import bicubic_resize_np

# scikit-image's bundled images (no download): natural photos, then microscopy/medical/astronomy.
SKIMAGE_IMAGES = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "retina",
    "moon",
    "cell",
    "hubble_deep_field",
)
DEFAULT_RETINA_CROP = 768  # the retina photo is 1411^2 with a black surround


class Method(NamedTuple):
    """How a benchmark method makes its x2 image from the LR."""

    preset: str | None  # DualSR preset; None = MATLAB-style bicubic
    changes: dict[str, Any]  # DualSRConfig fields changed from the preset
    known_kernel: bool  # the true kernel replaces G_DN
    denoiser: str | None = None  # denoise the LR first (dualsr.denoise, its own noise estimate)


METHODS: dict[str, Method] = {
    "bicubic": Method(None, {}, False),
    "dualsr": Method("paper", {}, False),
    "fast": Method("fast", {}, False),
    "known_kernel": Method("paper", {}, True),
    "fast_known": Method("fast", {}, True),  # the fast preset with the true kernel: G_UP's side alone
    "fast_gan": Method("fast", {"kernel_estimator": "gan"}, False),  # the fast preset before the spectral kernel
    "fast_noise_off": Method("fast", {"noise": "off"}, False),  # the fast preset without its noise model
    "fast_noise_on": Method("fast", {"noise": "on"}, False),  # ... with it forced on
    "dualsr_spectral": Method("paper", {"kernel_estimator": "spectral"}, False),  # the paper, spectral kernel
    "no_interp": Method("paper", {"use_interp_loss": False}, False),
    "no_forward": Method("paper", {"use_forward_cycle": False}, False),
    "no_backward": Method("paper", {"use_backward_cycle": False}, False),
    "fast_nlm": Method("fast", {"denoiser": "nlm"}, False),  # the noise model's clean copy by NLM alone
    "fast_kernel_clean": Method("fast", {"noise_kernel": "clean_copy"}, False),  # noisy: kernel of the clean copy
    "fast_single": Method("fast", {"self_ensemble": False}, False),  # the fast preset without its 180° ensemble
    "denoise_bicubic": Method(None, {}, False, "nlm"),  # the noisy-image baseline: a library denoiser
    "wiener_bicubic": Method(None, {}, False, DEFAULT_DENOISER),  # the engine's own denoiser, then bicubic
    "bm3d_bicubic": Method(None, {}, False, "bm3d"),  # needs the bm3d package (non-commercial licence)
    "denoise_fast": Method("fast", {}, False, DEFAULT_DENOISER),
}
METHOD_LABELS = {
    "bicubic": "bicubic",
    "dualsr": "DualSR",
    "fast": "DualSR fast",
    "known_kernel": "true kernel + DualSR",
    "fast_known": "true kernel + DualSR fast",
    "fast_gan": "DualSR fast, GAN kernel",
    "fast_noise_off": "DualSR fast, noise model off",
    "fast_noise_on": "DualSR fast, noise model on",
    "dualsr_spectral": "DualSR, spectral kernel",
    "no_interp": "w/o masked interp",
    "no_forward": "w/o forward cycle",
    "no_backward": "w/o backward cycle",
    "fast_nlm": "DualSR fast, NLM clean copy",
    "fast_kernel_clean": "DualSR fast, kernel from the clean copy",
    "fast_single": "DualSR fast, no self-ensemble",
    "denoise_bicubic": "denoise + bicubic",
    "wiener_bicubic": "NLM + Wiener + bicubic",
    "bm3d_bicubic": "BM3D + bicubic",
    "denoise_fast": "denoise + DualSR fast",
}
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


# --------------------------------------------------------------------------- variants
# Any method with config fields changed, named in place: "fast[lr_up=2e-3,lambda_interp=1]" is
# the fast method with those two fields changed. A measured variant needs no code edit, and the
# command that made a figure is the whole record of it (docs/benchmarks.md).


def split_methods(text: str) -> list[str]:
    """``"bicubic,fast[a=1,b=2]"`` -> ``["bicubic", "fast[a=1,b=2]"]``: commas inside brackets stay."""
    names, depth, start = [], 0, 0
    for i, ch in enumerate(text + ","):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            names.append(text[start:i].strip())
            start = i + 1
    return [n for n in names if n]


def _parse_value(method: str, field_name: str, kind: type, text: str) -> Any:
    """A config field's value from its text, by the field's type."""
    if kind is bool:
        words = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}
        if text.lower() not in words:
            raise DualSRInputError(f"{method}: {field_name}={text} is not true or false")
        return words[text.lower()]
    try:
        return kind(text)
    except ValueError:
        raise DualSRInputError(f"{method}: {field_name}={text} is not a valid {kind.__name__}") from None


def method_spec(name: str) -> Method:
    """The method ``name`` names: a registered one, or ``BASE[field=value,...]``, a variant of one."""
    if name in METHODS:
        return METHODS[name]
    base, _, rest = name.partition("[")
    if base not in METHODS or not rest.endswith("]"):
        raise DualSRInputError(
            f"unknown method {name!r}; choose from {', '.join(METHODS)}, or vary one: fast[lr_up=2e-3,...]"
        )
    spec = METHODS[base]
    if spec.preset is None:
        raise DualSRInputError(f"{base} trains nothing, so {name!r} has no settings to vary; vary fast or dualsr")
    from dataclasses import fields

    from .config import DualSRConfig

    kinds = {f.name: type(getattr(DualSRConfig(), f.name)) for f in fields(DualSRConfig)}
    changes = dict(spec.changes)
    for item in filter(None, (i.strip() for i in rest[:-1].split(","))):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or key not in kinds:
            raise DualSRInputError(f"{name}: {item!r} is not FIELD=VALUE with a DualSRConfig field (e.g. lr_up=2e-3)")
        changes[key] = _parse_value(name, key, kinds[key], value)
    DualSRConfig().with_(**changes)  # a bad choice is said now, not after hours of other runs
    return spec._replace(changes=changes)


def method_label(name: str) -> str:
    """A method's name in tables: its label, or the label of the varied method with the changes."""
    if name in METHOD_LABELS:
        return METHOD_LABELS[name]
    base, _, rest = name.partition("[")
    return f"{METHOD_LABELS.get(base, base)} [{rest[:-1]}]"


# --------------------------------------------------------------------------- sets


@dataclass
class Case:
    """One benchmark image: HR, LR (and the true kernel, if known)."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    kernel: np.ndarray | None
    scale: int = 2

    @property
    def data_range(self) -> float:
        return dtype_range(self.hr.dtype, self.hr)


def dtype_range(dtype: np.dtype, data: np.ndarray | None = None) -> float:
    """Full scale of an image: the integer dtype's maximum; 1.0 for floats in [0, 1]."""
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max)
    if data is not None and float(np.max(data)) > 1.0:
        return float(np.max(data))
    return 1.0


def to_unit(data: np.ndarray) -> tuple[np.ndarray, float]:
    """Image as float64 in [0, 1] (by its dtype's range) and that range."""
    r = dtype_range(data.dtype, data)
    return np.asarray(data, dtype=np.float64) / r, r


def from_unit(data: np.ndarray, dtype: np.dtype, data_range: float) -> np.ndarray:
    return to_dtype(np.clip(data, 0.0, 1.0) * data_range, np.dtype(dtype))


def _seed_for(name: str, seed: int) -> np.random.Generator:
    """One generator per image name: adding images to a set leaves the others' kernels alone."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _image_suffix(data: np.ndarray) -> str:
    grey = data.ndim == 2
    return ".png" if data.dtype == np.uint8 or (data.dtype == np.uint16 and grey) else ".tif"


def _axes(data: np.ndarray) -> str:
    return "YX" if data.ndim == 2 else "YXC"


def detail_crop(image: np.ndarray, size: int | None, step: int = 16) -> np.ndarray:
    """The ``size``-square window (corners on a ``step`` grid) with the most gradient energy.

    Keeps large flat areas (a microscope's empty background, the dark fundus around
    the retina) out of a small crop; the whole side where the image is smaller.
    """
    if not size:
        return image
    h, w = image.shape[:2]
    sh, sw = min(size, h), min(size, w)
    grey = np.asarray(image, dtype=np.float64)
    grey = grey.mean(axis=-1) if grey.ndim == 3 else grey
    gy, gx = np.gradient(grey)
    c = np.pad(np.cumsum(np.cumsum(np.hypot(gy, gx), 0), 1), ((1, 0), (1, 0)))
    best, corner = -1.0, (0, 0)
    for top in range(0, h - sh + 1, step):
        for left in range(0, w - sw + 1, step):
            total = c[top + sh, left + sw] - c[top, left + sw] - c[top + sh, left] + c[top, left]
            if total > best:
                best, corner = total, (top, left)
    top, left = corner
    return image[top : top + sh, left : left + sw]


def degrade_image(
    hr: np.ndarray,
    name: str,
    *,
    scale: int = 2,
    seed: int = 0,
    size: int | None = None,
    noise_gaussian: float = 0.0,
    noise_poisson: float | None = None,
    crop: str = "centre",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """HR (cropped), LR and the true kernel for one image; LR has HR's dtype.

    ``hr`` is ``(H, W)`` or ``(H, W, 3)``; integer data maps to [0, 1] by its dtype.
    ``size`` crops it first: the ``centre`` or the window with the most ``detail``.
    """
    hr = np.asarray(hr)
    if hr.ndim == 3 and hr.shape[-1] == 4:
        hr = hr[..., :3]
    if hr.ndim not in (2, 3) or (hr.ndim == 3 and hr.shape[-1] != 3):
        raise DualSRInputError(f"{name}: expected a 2D grey or RGB image, got shape {hr.shape}")
    if crop not in ("centre", "detail"):
        raise DualSRInputError(f"unknown crop {crop!r}; use centre or detail")
    hr = crop_to_scale((detail_crop if crop == "detail" else centre_crop)(hr, size), scale)
    rng = _seed_for(name, seed)
    kernel, draw = random_kernel(rng, scale)
    unit, data_range = to_unit(hr)
    lr = degrade(unit, kernel, scale)
    lr = add_noise(lr, rng, noise_gaussian, noise_poisson)
    info = {
        "name": name,
        "scale": scale,
        "seed": seed,
        "hr_shape": list(hr.shape),
        "crop": crop if size else None,
        "kernel_size": kernel.shape[0],
        **draw.to_dict(),
        "noise_gaussian": noise_gaussian,
        "noise_poisson_peak": noise_poisson,
    }
    return hr, from_unit(lr, hr.dtype, data_range), kernel, info


def write_case(folder: Path, name: str, hr: np.ndarray, lr: np.ndarray, kernel: np.ndarray, scale: int = 2) -> None:
    """Write one triple in DIV2KRK's layout (plus a PNG picture of the kernel)."""
    from .figures import kernel_tile

    for sub in ("gt", f"lr_x{scale}", f"gt_k_x{scale}"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    write_image(folder / "gt" / f"{name}{_image_suffix(hr)}", ImageFile(hr, _axes(hr)))
    write_image(folder / f"lr_x{scale}" / f"{name}{_image_suffix(lr)}", ImageFile(lr, _axes(lr)))
    write_image(folder / f"gt_k_x{scale}" / f"{name}.npy", ImageFile(kernel))
    write_image(folder / f"gt_k_x{scale}" / f"{name}_kernel.png", ImageFile(kernel_tile(kernel, 13 * 12)))


def skimage_image(name: str) -> np.ndarray:
    """One of scikit-image's bundled images (no download)."""
    try:
        from skimage import data
    except ImportError:
        raise DualSRInputError(
            "the generated benchmark set uses scikit-image's bundled images; pip install scikit-image"
        ) from None
    if name not in SKIMAGE_IMAGES:
        raise DualSRInputError(f"unknown scikit-image image {name!r}; choose from {', '.join(SKIMAGE_IMAGES)}")
    image = getattr(data, name)()
    if name == "retina":
        image = centre_crop(image, DEFAULT_RETINA_CROP)
    return image


def make_set(
    folder: str | Path,
    images: Iterable[str] = SKIMAGE_IMAGES,
    *,
    scale: int = 2,
    seed: int = 0,
    size: int | None = None,
    noise_gaussian: float = 0.0,
    noise_poisson: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the generated set (scikit-image images, DIV2KRK-style kernels) to ``folder``.

    ``size`` crops each HR image to the ``size``-square window with the most detail; the noise
    (:func:`dualsr.degrade.add_noise`) is drawn after the kernel from the same per-image
    generator, so a noisy set has the clean set's kernels and the same seed the same noise.
    """
    folder = Path(folder)
    infos = []
    for name in images:
        hr, lr, kernel, info = degrade_image(
            skimage_image(name),
            name,
            scale=scale,
            seed=seed,
            size=size,
            noise_gaussian=noise_gaussian,
            noise_poisson=noise_poisson,
            crop="detail",
        )
        write_case(folder, name, hr, lr, kernel, scale)
        infos.append(info)
        if log:
            log(f"{name}: HR {hr.shape[1]}x{hr.shape[0]}, LR {lr.shape[1]}x{lr.shape[0]}")
    noise = {"noise_gaussian": noise_gaussian, "noise_poisson_peak": noise_poisson}
    write_json(
        folder / "degradation.json", {"source": "scikit-image", "size": size, "seed": seed, **noise, "images": infos}
    )
    return folder


def _find(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        p = folder / f"{stem}{s}"
        if p.is_file():
            return p
    return None


def read_mat_kernel(path: Path) -> np.ndarray:
    """A kernel from a MATLAB .mat file (DIV2KRK stores it under ``Kernel``)."""
    try:
        import scipy.io
    except ImportError:
        raise DualSRInputError(f"{path.name}: reading .mat kernels needs scipy; pip install scipy") from None
    try:
        content = scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file to the user
        raise DualSRInputError(f"{path.name}: cannot read it as a .mat file ({exc})") from exc
    if "Kernel" in content:
        return np.asarray(content["Kernel"], dtype=np.float64)
    arrays = [v for k, v in content.items() if not k.startswith("__") and np.ndim(v) == 2]
    if len(arrays) != 1:
        raise DualSRInputError(f"{path.name}: expected one 2D array (DIV2KRK's 'Kernel'), found {len(arrays)}")
    return np.asarray(arrays[0], dtype=np.float64)


def _kernel_path(folder: Path, name: str) -> Path | None:
    p = _find(folder, name, (".npy", ".mat"))
    if p is None and name.startswith("im_"):
        p = _find(folder, "kernel_" + name[3:], (".mat", ".npy"))
    return p


def load_cases(folder: str | Path, scale: int = 2, names: Iterable[str] | None = None) -> list[Case]:
    """The images of a set folder, in name order (``names`` picks some)."""
    folder = Path(folder)
    gt_dir, lr_dir, k_dir = folder / "gt", folder / f"lr_x{scale}", folder / f"gt_k_x{scale}"
    if not gt_dir.is_dir() or not lr_dir.is_dir():
        raise DualSRInputError(
            f"{folder}: expected a set in DIV2KRK's layout (gt/NAME.png, lr_x{scale}/NAME.png, "
            f"gt_k_x{scale}/NAME.npy or kernel_N.mat); make one with 'dualsr degrade' or use 'skimage'"
        )
    available = sorted({p.stem for p in gt_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES})
    wanted = list(names) if names else available
    missing = [n for n in wanted if n not in available]
    if missing:
        raise DualSRInputError(f"{folder}: no gt image for {', '.join(missing)}; have {', '.join(available)}")
    cases = []
    for name in wanted:
        lr_path = _find(lr_dir, name, IMAGE_SUFFIXES)
        if lr_path is None:
            raise DualSRInputError(f"{folder}: gt/{name} has no lr_x{scale}/{name}.png (or .tif)")
        hr = read_image(_find(gt_dir, name, IMAGE_SUFFIXES)).data
        lr = read_image(lr_path).data
        if hr.ndim == 3 and hr.shape[-1] == 4:
            hr, lr = hr[..., :3], lr[..., :3]
        h, w = lr.shape[0] * scale, lr.shape[1] * scale
        if hr.shape[0] < h or hr.shape[1] < w or hr.shape[2:] != lr.shape[2:]:
            raise DualSRInputError(f"{name}: HR {hr.shape} does not match LR {lr.shape} at x{scale}")
        hr = hr[:h, :w]
        k_path = _kernel_path(k_dir, name) if k_dir.is_dir() else None
        kernel = None
        if k_path is not None:
            kernel = read_mat_kernel(k_path) if k_path.suffix == ".mat" else np.load(k_path).astype(np.float64)
        cases.append(Case(name, hr, lr, kernel, scale))
    return cases


# --------------------------------------------------------------------------- runs


@dataclass
class BenchSettings:
    """What decides a method's result besides the image (a stored run with other settings is redone)."""

    iterations: int | None = None  # paper-preset methods; None = the preset's 3000
    fast_iterations: int | None = None  # the fast preset; None = its own
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"
    overrides: dict[str, Any] = field(default_factory=dict)  # other DualSRConfig fields (tests: tiny nets)

    def config(self, method: str):  # noqa: ANN201 - DualSRConfig, imported lazily
        return self._config(method_spec(method))

    def _config(self, spec: Method):  # noqa: ANN202 - DualSRConfig
        from .config import preset

        iters = self.fast_iterations if spec.preset == "fast" else self.iterations
        base = preset(spec.preset, iterations=iters, seed=self.seed, precision=self.precision, **self.overrides)
        return base.with_(**spec.changes)

    def signature(self, method: str) -> dict[str, Any]:
        spec = method_spec(method)
        denoiser = {"denoiser": _denoiser_version(spec.denoiser)} if spec.denoiser else {}
        if spec.preset is None:
            return {"method": method, **denoiser}
        # every config field: a stored run is reused only if it trained exactly as asked
        # (a field added to the engine, such as noise_guide, makes older runs stale)
        return {
            "method": method,
            **denoiser,
            **self._config(spec).to_dict(),
            "device": self.device,
            **({"changes": spec.changes} if method not in METHODS else {}),  # a variant: every field it changes
        }


def write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(content, indent=1) + "\n"))


def _progress_printer(log: Callable[[str], None], label: str) -> Callable:
    marks: set[int] = set()

    def on_step(info) -> None:  # noqa: ANN001 - StepInfo
        tenth = 10 * info.step // info.iterations
        if tenth not in marks and tenth > 0:
            marks.add(tenth)
            log(f"  {label}: step {info.step}/{info.iterations} ({info.seconds:.0f} s)")

    return on_step


def _denoiser_version(name: str) -> str:
    """The denoiser and the library behind it, e.g. ``nlm (scikit-image 0.26.0)``: a new version redoes runs."""
    from importlib.metadata import PackageNotFoundError, version

    package = "bm3d" if name == "bm3d" else "scikit-image"
    try:
        return f"{name} ({package} {version(package)})"
    except PackageNotFoundError:
        return name


def denoised_lr(case: Case, denoiser: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The LR denoised with its own noise estimate (as a user would, blind), and what was estimated."""
    from .noise import estimate_noise

    start = time.perf_counter()
    channel_axis = -1 if case.lr.ndim == 3 else None
    noise = estimate_noise(case.lr, channel_axis)
    lr = denoise(case.lr, noise, channel_axis=channel_axis, method=denoiser)
    return lr, {"noise": noise.to_dict(), "denoise_seconds": time.perf_counter() - start}


def run_method(
    case: Case, method: str, settings: BenchSettings, log: Callable[[str], None] | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """The x2 (xscale) image of one case by one method, its kernel and run facts."""
    start = time.perf_counter()
    spec = method_spec(method)
    lr, facts = denoised_lr(case, spec.denoiser) if spec.denoiser else (case.lr, {})
    if spec.preset is None:
        unit, r = to_unit(lr)
        sr = from_unit(bicubic_resize_np(unit, float(case.scale)), lr.dtype, r)
        return sr, None, {"seconds": time.perf_counter() - start, "steps": 0, **facts}
    from .api import train

    if case.scale != 2:
        raise DualSRInputError(f"DualSR is x2 only; {case.name} is x{case.scale}")
    if spec.known_kernel and case.kernel is None:
        raise DualSRInputError(f"{case.name}: no true kernel in the set, so '{method}' cannot run")
    config = settings._config(spec)
    result = train(
        lr,
        config=config,
        known_kernel=case.kernel if spec.known_kernel else None,
        device=settings.device,
        progress=_progress_printer(log, f"{case.name} {method}") if log else None,
    )
    facts = {"seconds": time.perf_counter() - start, "steps": result.steps, "device": result.device, **facts}
    return result.image, (None if spec.known_kernel else result.kernel), facts


def evaluate(case: Case, sr: np.ndarray, kernel: np.ndarray | None) -> dict[str, Any]:
    """The paper's metrics (Y, shaved by the scale) and the kernel error where both are known."""
    scores = sr_metrics(sr, case.hr, case.scale, case.data_range)
    scores["overshoot"] = overshoot(sr, case.hr, case.data_range)
    if kernel is not None and case.kernel is not None:
        scores.update(kernel_error(kernel, case.kernel))
    return scores


def overshoot(sr: np.ndarray, hr: np.ndarray, data_range: float, radius: int = 2) -> float:
    """Halo/ringing measure: mean Y excess (grey levels of 255) beyond HR's local range.

    At each pixel, how far the result goes above the largest or below the smallest HR
    value within ``radius`` pixels. A faithful result (even a blurry one) scores near 0;
    halos and ringing along edges score high even when the PSNR improves.
    """
    a = to_y(sr, data_range)
    b = to_y(hr, data_range)
    size = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(b, (size, size))
    hi, lo = windows.max(axis=(-1, -2)), windows.min(axis=(-1, -2))
    a = a[radius:-radius, radius:-radius]
    excess = np.maximum(a - hi, 0) + np.maximum(lo - a, 0)
    return float(excess.mean())


def run_dir(out: Path, case: str) -> Path:
    return out / "runs" / case


def load_entry(out: Path, case: str, method: str) -> dict[str, Any] | None:
    path = run_dir(out, case) / f"{method}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_bench(
    cases: list[Case],
    methods: list[str],
    out: str | Path,
    settings: BenchSettings,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> list[dict[str, Any]]:
    """Run ``methods`` (outer loop) on ``cases``; one JSON per pair, finished pairs skipped.

    Methods outside, images inside: an interrupted run has every image for the first
    methods rather than every method for the first images.
    """
    out = Path(out)
    specs = {m: method_spec(m) for m in methods}  # every name checked before the first run
    for denoiser in {s.denoiser for s in specs.values()} - {None}:
        require_denoiser(denoiser)  # a missing package is said before hours of other methods
    entries = []
    todo = [(m, c) for m in methods for c in cases]
    for i, (method, case) in enumerate(todo, 1):
        signature = settings.signature(method)
        old = load_entry(out, case.name, method)
        if old is not None and old.get("settings") == signature:
            entries.append(old)
            log(f"[{i}/{len(todo)}] {case.name} {method}: done before, skipped")
            continue
        if specs[method].known_kernel and case.kernel is None:
            log(f"[{i}/{len(todo)}] {case.name} {method}: no true kernel, skipped")
            continue
        log(f"[{i}/{len(todo)}] {case.name} {method}: running")
        sr, kernel, facts = run_method(case, method, settings, log)
        entry = {"case": case.name, "method": method, "settings": signature, **facts, **evaluate(case, sr, kernel)}
        folder = run_dir(out, case.name)
        folder.mkdir(parents=True, exist_ok=True)
        write_image(folder / f"{method}{_image_suffix(sr)}", ImageFile(sr, _axes(sr)))
        if kernel is not None:
            np.save(folder / f"{method}_kernel.npy", kernel)
        write_json(folder / f"{method}.json", entry)  # last: a JSON means the files are there
        entries.append(entry)
        k = f", kernel max err {entry['kernel_max_rel']:.0%} of peak" if "kernel_max_rel" in entry else ""
        log(
            f"[{i}/{len(todo)}] {case.name} {method}: PSNR {entry['psnr']:.2f} dB, SSIM {entry['ssim']:.4f}"
            f"{k} ({entry['seconds']:.0f} s)"
        )
    return entries


# --------------------------------------------------------------------------- tables


def collect(out: Path) -> list[dict[str, Any]]:
    """Every stored entry under ``out/runs``."""
    entries = []
    for path in sorted((out / "runs").glob("*/*.json")):
        try:
            entries.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return entries


def _fmt(v: Any, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def summary_tables(entries: list[dict[str, Any]], methods: list[str] | None = None) -> dict[str, Any]:
    """Per-image rows and per-method means; gains are paired with bicubic on the same images."""
    by = {(e["case"], e["method"]): e for e in entries}
    cases = sorted({e["case"] for e in entries})
    methods = [m for m in (methods or list(METHODS)) if any(e["method"] == m for e in entries)]
    means = {}
    for m in methods:
        rows = [by[(c, m)] for c in cases if (c, m) in by]
        paired = [(by[(c, m)], by[(c, "bicubic")]) for c in cases if (c, m) in by and (c, "bicubic") in by]

        def avg(values: list[float]) -> float | None:
            return float(np.mean(values)) if values else None

        means[m] = {
            "images": len(rows),
            "psnr": avg([r["psnr"] for r in rows]),
            "ssim": avg([r["ssim"] for r in rows]),
            "psnr_gain": avg([a["psnr"] - b["psnr"] for a, b in paired]),
            "ssim_gain": avg([a["ssim"] - b["ssim"] for a, b in paired]),
            "overshoot": avg([r["overshoot"] for r in rows if "overshoot" in r]),
            "kernel_mse": avg([r["kernel_mse"] for r in rows if "kernel_mse" in r]),
            "kernel_max_rel": avg([r["kernel_max_rel"] for r in rows if "kernel_max_rel" in r]),
            "seconds": avg([r["seconds"] for r in rows]),
            "iterations": sorted({r["settings"].get("iterations") for r in rows if r["settings"].get("iterations")}),
        }
    return {"cases": cases, "methods": methods, "by": by, "means": means}


def markdown(tables: dict[str, Any]) -> str:
    """The tables as Markdown: means first, then PSNR/SSIM, kernel error and time per image."""
    cases, methods, by, means = tables["cases"], tables["methods"], tables["by"], tables["means"]
    lines = [
        "| method | images | steps | PSNR (dB) | SSIM | ΔPSNR vs bicubic | ΔSSIM | overshoot | kernel max err "
        "| s/image |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in methods:
        s = means[m]
        steps = ",".join(str(i) for i in s["iterations"]) or "–"
        kerr = "–" if s["kernel_max_rel"] is None else f"{s['kernel_max_rel']:.0%}"
        gain = "–" if m == "bicubic" or s["psnr_gain"] is None else f"{s['psnr_gain']:+.2f}"
        sgain = "–" if m == "bicubic" or s["ssim_gain"] is None else f"{s['ssim_gain']:+.4f}"
        lines.append(
            f"| {method_label(m)} | {s['images']} | {steps} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} | "
            f"{gain} | {sgain} | {_fmt(s['overshoot'], 2)} | {kerr} | {_fmt(s['seconds'], 0)} |"
        )
    lines += ["", "PSNR (dB) / SSIM per image (Y channel, border of 2 shaved):", ""]
    lines.append("| image | " + " | ".join(method_label(m) for m in methods) + " |")
    lines.append("| --- |" + " ---: |" * len(methods))
    for c in cases:
        cells = [f"{by[(c, m)]['psnr']:.2f} / {by[(c, m)]['ssim']:.4f}" if (c, m) in by else "–" for m in methods]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    est = [m for m in methods if any("kernel_max_rel" in by[k] for k in by if k[1] == m)]
    if est:
        lines += ["", "Kernel error per image: max |k_est − k_true| as % of the true peak (MSE):", ""]
        lines.append("| image | " + " | ".join(method_label(m) for m in est) + " |")
        lines.append("| --- |" + " ---: |" * len(est))
        for c in cases:
            cells = []
            for m in est:
                e = by.get((c, m))
                ok = e is not None and "kernel_max_rel" in e
                cells.append(f"{e['kernel_max_rel']:.0%} ({e['kernel_mse']:.1e})" if ok else "–")
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Overshoot per image (mean Y excess beyond the HR's local 5x5 range, grey levels):", ""]
    lines.append("| image | " + " | ".join(method_label(m) for m in methods) + " |")
    lines.append("| --- |" + " ---: |" * len(methods))
    for c in cases:
        cells = [_fmt(by[(c, m)].get("overshoot"), 2) if (c, m) in by else "–" for m in methods]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(out: Path, methods: list[str] | None = None) -> dict[str, Any]:
    """``results.md``, ``results.csv`` and ``results.json`` in ``out`` from every stored entry."""
    entries = collect(out)
    tables = summary_tables(entries, methods)
    md = markdown(tables)
    atomic_write(out / "results.md", lambda tmp: Path(tmp).write_text(md))
    fields = [
        "case",
        "method",
        "psnr",
        "ssim",
        "overshoot",
        "kernel_mse",
        "kernel_max",
        "kernel_max_rel",
        "seconds",
        "steps",
    ]

    def write_csv(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([*fields, "iterations"])
            order = {m: i for i, m in enumerate(METHODS)}  # registered methods first, then variants by name
            for e in sorted(entries, key=lambda e: (e["case"], order.get(e["method"], len(order)), e["method"])):
                w.writerow([e.get(k, "") for k in fields] + [e["settings"].get("iterations", "")])

    atomic_write(out / "results.csv", write_csv)
    write_json(
        out / "results.json",
        {
            "machine": machine(),
            "means": tables["means"],
            "entries": sorted(entries, key=lambda e: (e["case"], e["method"])),
        },
    )
    return tables


def machine() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


# --------------------------------------------------------------------------- figures


def edge_window(hr: np.ndarray, size: int, data_range: float) -> tuple[int, int]:
    """Top-left corner of the ``size``-square HR window with the strongest edges."""
    y = to_y(hr, data_range)
    gy, gx = np.gradient(y)
    g = np.hypot(gy, gx)
    c = np.cumsum(np.cumsum(np.pad(g, ((1, 0), (1, 0))), 0), 1)
    sums = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    margin = 8
    inner = sums[margin:-margin, margin:-margin] if min(sums.shape) > 2 * margin + 1 else sums
    off = margin if inner is not sums else 0
    top, left = np.unravel_index(np.argmax(inner), inner.shape)
    return int(top + off), int(left + off)


def case_figure(
    case: Case, images: dict[str, np.ndarray], kernels: dict[str, np.ndarray], crop: int = 64, zoom: int = 4
):  # noqa: ANN201 - PIL.Image
    """Crops on the strongest edges (LR nearest, the methods, HR) zoomed, and the kernels.

    Every crop is shown with nearest-neighbour zoom at the same grey scale (the HR's
    0.5/99.5 percentiles over the crop) so halos and ringing stay visible.
    """
    from PIL import Image, ImageDraw

    from .figures import kernel_tile

    crop = min(crop, case.hr.shape[0], case.hr.shape[1])
    top, left = edge_window(case.hr, crop, case.data_range)
    lr_up = np.repeat(np.repeat(case.lr, case.scale, axis=0), case.scale, axis=1)
    panels = {"LR (nearest)": lr_up, **images, "HR": case.hr}
    r = case.data_range

    def tile(img: np.ndarray) -> np.ndarray:
        c = np.asarray(img, dtype=np.float64)[top : top + crop, left : left + crop] / r
        c = np.clip(c, 0, 1)
        c = np.kron(c, np.ones((zoom, zoom) + (1,) * (c.ndim - 2)))
        return (c * 255).round().astype(np.uint8)

    tiles = {name: tile(img) for name, img in panels.items()}
    side = crop * zoom
    ktiles = {name: kernel_tile(np.asarray(k), side // 2) for name, k in kernels.items()}
    label_h, gap = 16, 6
    ncol = max(len(tiles), len(ktiles))
    width = ncol * (side + gap)
    height = 2 * label_h + side + (side // 2 + label_h + gap if ktiles else 0)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 1), f"{case.name}: HR crop {crop}x{crop} at ({top}, {left}), x{zoom} nearest", fill="black")
    for i, (name, t) in enumerate(tiles.items()):
        x = i * (side + gap)
        draw.text((x + 2, label_h + 1), name, fill="black")
        canvas.paste(Image.fromarray(t).convert("RGB"), (x, 2 * label_h))
    y0 = 2 * label_h + side + gap
    for i, (name, t) in enumerate(ktiles.items()):
        x = i * (side + gap)
        draw.text((x + 2, y0), name, fill="black")
        canvas.paste(Image.fromarray(t).convert("RGB"), (x, y0 + label_h))
    return canvas


def write_figures(out: Path, cases: list[Case], methods: list[str], crop: int = 64) -> list[Path]:
    """One PNG per case under ``out/figures`` from the stored results."""
    written = []
    for case in cases:
        folder = run_dir(out, case.name)
        images, kernels = {}, {}
        for m in methods:
            p = _find(folder, m, IMAGE_SUFFIXES)
            entry = load_entry(out, case.name, m)
            if p is None or entry is None:
                continue
            images[f"{method_label(m)} {entry['psnr']:.2f}"] = read_image(p).data
            kp = folder / f"{m}_kernel.npy"
            if kp.is_file() and case.kernel is not None:
                est, _ = comparable_kernels(np.load(kp), case.kernel)
                kernels[f"{method_label(m)}"] = est
        if not images:
            continue
        if case.kernel is not None:
            kernels = {"true kernel": comparable_kernels(case.kernel, case.kernel)[0], **kernels}
        fig = case_figure(case, images, kernels, crop=crop)
        path = out / "figures" / f"{case.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp, fig=fig: fig.save(tmp, format="PNG"))
        written.append(path)
    return written


__all__ = [
    "METHODS",
    "SKIMAGE_IMAGES",
    "BenchSettings",
    "Case",
    "degrade_image",
    "load_cases",
    "make_set",
    "overshoot",
    "run_bench",
    "write_case",
    "write_figures",
    "write_summary",
]
