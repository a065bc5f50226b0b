"""Benchmark sets in DIV2KRK's layout: made from HR images with DIV2KRK-style kernels, and read back.

A *set* is a folder::

    gt/NAME.png           HR ground truth (or .tif)
    lr_x2/NAME.png        LR input (HR degraded by the true kernel, x2)
    gt_k_x2/NAME.npy      true kernel (optional; DIV2KRK's kernel_N.mat for im_N also read)

:func:`make_set` writes one from HR images (scikit-image's bundled natural and microscopy images
by default) with random kernels (:mod:`dualsr.evaluation.degrade`); :func:`load_cases` reads it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.config import check_choice
from dualsr.errors import DualSRInputError
from dualsr.evaluation.degrade import add_noise, centre_crop, crop_to_scale, degrade, random_kernel
from dualsr.evaluation.scenes import OPTICS, SCENES, microscope_pair
from dualsr.io.files import ImageFile, atomic_write, read_image, write_image
from dualsr.io.normalize import to_dtype
from dualsr.io.replication import native_grid
from dualsr.kernels.camera import camera_kernel

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
# scikit-image's other bundled images, which no setting was chosen on: textures, documents, a phantom, photos.
# A check of what the product does on images it was not tuned to (docs/benchmarks.md, "Images no setting saw").
HELD_OUT_IMAGES = ("brick", "cat", "clock", "coins", "grass", "gravel", "page", "shepp_logan_phantom", "text")


SCENE_IMAGES = tuple(f"{kind}_{optics}" for optics in OPTICS for kind in SCENES)  # microscope scenes
DEGRADATIONS = ("gaussian-blur", "camera")  # how a generated set's LRs are made (degrade_image)
DEFAULT_RETINA_CROP = 768  # the retina photo is 1411^2 with a black surround


IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


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


def image_suffix(data: np.ndarray) -> str:
    grey = data.ndim == 2
    return ".png" if data.dtype == np.uint8 or (data.dtype == np.uint16 and grey) else ".tif"


def image_axes(data: np.ndarray) -> str:
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
    acquisition: str = "gaussian-blur",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """HR (cropped), LR and the true kernel for one image; LR has HR's dtype.

    ``hr`` is ``(H, W)`` or ``(H, W, 3)``; integer data maps to [0, 1] by its dtype.
    ``size`` crops it first: the ``centre`` or the window with the most ``detail``.
    ``acquisition``: ``gaussian-blur`` (DIV2KRK: a random anisotropic Gaussian, then every other
    pixel) or ``camera`` (pixel integration: each LR pixel the mean of the 2x2 HR pixels it covers,
    :func:`dualsr.kernels.camera.camera_kernel`; the HR keeps its own optical blur as the scene's).
    """
    hr = np.asarray(hr)
    if hr.ndim == 3 and hr.shape[-1] == 4:
        hr = hr[..., :3]
    if hr.ndim not in (2, 3) or (hr.ndim == 3 and hr.shape[-1] != 3):
        raise DualSRInputError(f"{name}: expected a 2D grey or RGB image, got shape {hr.shape}")
    if crop not in ("centre", "detail"):
        raise DualSRInputError(f"unknown crop {crop!r}; use centre or detail")
    hr = crop_to_scale((detail_crop if crop == "detail" else centre_crop)(hr, size), scale)
    check_choice("acquisition", acquisition, DEGRADATIONS)
    rng = _seed_for(name, seed)
    kernel, draw = random_kernel(rng, scale)  # drawn in both cases: a camera set gets the same noise
    if acquisition == "camera":
        if scale != 2:
            raise DualSRInputError("the camera degradation is x2 (a 2x2 binning); use --scale 2")
        kernel, draw = camera_kernel(), None
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
        "acquisition": acquisition,
        **(draw.to_dict() if draw else {}),
        "noise_gaussian": noise_gaussian,
        "noise_poisson_peak": noise_poisson,
    }
    return hr, from_unit(lr, hr.dtype, data_range), kernel, info


def write_case(folder: Path, name: str, hr: np.ndarray, lr: np.ndarray, kernel: np.ndarray, scale: int = 2) -> None:
    """Write one triple in DIV2KRK's layout (plus a PNG picture of the kernel)."""
    from dualsr.evaluation.figures import kernel_tile

    for sub in ("gt", f"lr_x{scale}", f"gt_k_x{scale}"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    write_image(folder / "gt" / f"{name}{image_suffix(hr)}", ImageFile(hr, image_axes(hr)))
    write_image(folder / f"lr_x{scale}" / f"{name}{image_suffix(lr)}", ImageFile(lr, image_axes(lr)))
    write_image(folder / f"gt_k_x{scale}" / f"{name}.npy", ImageFile(kernel))
    write_image(folder / f"gt_k_x{scale}" / f"{name}_kernel.png", ImageFile(kernel_tile(kernel, 13 * 12)))


def skimage_image(name: str) -> np.ndarray:
    """One of scikit-image's bundled images (no download), on its native pixel grid: ``moon`` is a 256^2
    image stored at 512^2 (every 2x2 block one value, :mod:`dualsr.io.replication`); as a truth its
    blocks would score every x2 against a nearest-neighbour enlargement."""
    try:
        from skimage import data
    except ImportError:
        raise DualSRInputError(
            "the generated benchmark set uses scikit-image's bundled images; pip install scikit-image"
        ) from None
    if name not in SKIMAGE_IMAGES + HELD_OUT_IMAGES:
        known = ", ".join(SKIMAGE_IMAGES + HELD_OUT_IMAGES)
        raise DualSRInputError(f"unknown scikit-image image {name!r}; choose from {known}")
    image = native_grid(getattr(data, name)())
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
    acquisition: str = "gaussian-blur",
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the generated set (scikit-image images, DIV2KRK-style kernels or 2x2 binning) to ``folder``.

    ``size`` crops each HR image to the ``size``-square window with the most detail; the noise
    (:func:`dualsr.evaluation.degrade.add_noise`) is drawn after the kernel from the same per-image
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
            acquisition=acquisition,
        )
        write_case(folder, name, hr, lr, kernel, scale)
        infos.append(info)
        if log:
            log(f"{name}: HR {hr.shape[1]}x{hr.shape[0]}, LR {lr.shape[1]}x{lr.shape[0]}")
    noise = {"noise_gaussian": noise_gaussian, "noise_poisson_peak": noise_poisson}
    stamp = {"source": "scikit-image", "size": size, "seed": seed, "acquisition": acquisition, **noise}
    write_json(folder / "degradation.json", {**stamp, "images": infos})
    return folder


def scene_case(
    name: str, size: int = 384, seed: int = 0, noise_gaussian: float = 0.0, noise_poisson: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """HR, LR (16-bit, as a camera writes them) and the camera kernel of one microscope scene
    (``cells_na1.2``: a scene of :data:`dualsr.evaluation.scenes.SCENES` through :data:`~.scenes.OPTICS`)."""
    kind, _, optics = name.partition("_")
    if name not in SCENE_IMAGES:
        raise DualSRInputError(f"unknown scene {name!r}; choose from {', '.join(SCENE_IMAGES)}")
    hr, lr = microscope_pair(kind, size, seed, OPTICS[optics])
    lr = add_noise(lr, _seed_for(name, seed), noise_gaussian, noise_poisson)
    info = {
        "name": name,
        "scale": 2,
        "seed": seed,
        "hr_shape": list(hr.shape),
        "acquisition": "camera",
        "optics": OPTICS[optics].to_dict(),
        "noise_gaussian": noise_gaussian,
        "noise_poisson_peak": noise_poisson,
    }
    return to_dtype(hr * 65535, np.uint16), to_dtype(lr * 65535, np.uint16), camera_kernel(), info


def make_scene_set(
    folder: str | Path,
    images: Iterable[str] = SCENE_IMAGES,
    *,
    seed: int = 0,
    size: int | None = None,
    noise_gaussian: float = 0.0,
    noise_poisson: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write microscope scenes recorded by an HR and a 2x-pitch LR camera (:mod:`dualsr.evaluation.scenes`)."""
    folder = Path(folder)
    infos = []
    for name in images:
        hr, lr, kernel, info = scene_case(name, size or 384, seed, noise_gaussian, noise_poisson)
        write_case(folder, name, hr, lr, kernel, 2)
        infos.append(info)
        if log:
            log(f"{name}: HR {hr.shape[1]}x{hr.shape[0]}, LR {lr.shape[1]}x{lr.shape[0]}")
    noise = {"noise_gaussian": noise_gaussian, "noise_poisson_peak": noise_poisson}
    stamp = {"source": "scenes", "size": size, "seed": seed, "acquisition": "camera", **noise}
    write_json(folder / "degradation.json", {**stamp, "images": infos})
    return folder


def find_file(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
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
    p = find_file(folder, name, (".npy", ".mat"))
    if p is None and name.startswith("im_"):
        p = find_file(folder, "kernel_" + name[3:], (".mat", ".npy"))
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
        lr_path = find_file(lr_dir, name, IMAGE_SUFFIXES)
        if lr_path is None:
            raise DualSRInputError(f"{folder}: gt/{name} has no lr_x{scale}/{name}.png (or .tif)")
        hr = read_image(find_file(gt_dir, name, IMAGE_SUFFIXES)).data
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


def write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(content, indent=1) + "\n"))
