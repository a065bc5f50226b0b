"""Regenerate the bundled sample (src/dualsr/data/): a degraded microscopy image.

    python benchmarks/make_sample.py                 # rewrites src/dualsr/data/
    python benchmarks/make_sample.py --out FOLDER    # elsewhere (a check, or a smoke run)

HR: scikit-image's ``immunohistochemistry`` (512x512, public domain), as grey. LR: blurred with a known
anisotropic Gaussian, subsampled x2, scaled to 16 bit with mild shot noise (4000 photons at full
scale). The noisy LR: the same blurred, subsampled image with 300 photons at full scale
(``dualsr.io.sample.NOISY_PHOTONS``), on the same 16-bit scale and camera offset.
"""

import argparse
from pathlib import Path

import numpy as np
import tifffile
from skimage import data

from dualsr.evaluation.degrade import degrade
from dualsr.io.sample import NOISY_PHOTONS, NOISY_SEED
from dualsr.paper.kernel import gaussian_kernel

OUT = Path(__file__).resolve().parents[1] / "src" / "dualsr" / "data"


def on_16bit_scale(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (full scale) on the sample's 16-bit scale, unrounded: 1 at 50500, offset 500."""
    return values * (60000 / 1.2) + 500


def counts_to_16bit(counts: np.ndarray, photons: float) -> np.ndarray:
    """Photon counts on the sample's 16-bit scale: full scale (``photons``) at 50500, offset 500."""
    return np.clip(counts * (60000 / photons / 1.2) + 500, 0, 65535).astype(np.uint16)


def sample_recipe() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hr, kernel, lr)``: the HR in [0, 1], the true kernel, and the blurred, subsampled LR before noise."""
    hr = data.immunohistochemistry().astype(np.float64).mean(axis=-1) / 255.0
    kernel = gaussian_kernel(13, 3.0, 0.8, angle=0.6)
    return hr, kernel, degrade(hr, kernel)


def noisy_lr(lr: np.ndarray, photons: float) -> np.ndarray:
    """``lr`` with shot noise of ``photons`` at full scale, on the 16-bit scale (the noisy sample's seed)."""
    return counts_to_16bit(np.random.default_rng(NOISY_SEED).poisson(np.clip(lr, 0, None) * photons), photons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder (default: the package's data, src/dualsr/data)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    hr, kernel, lr = sample_recipe()
    rng = np.random.default_rng(0)
    photons = 4000.0
    lr16 = counts_to_16bit(rng.poisson(np.clip(lr, 0, None) * photons), photons)
    hr16 = on_16bit_scale(hr)
    meta = {"axes": "YX", "unit": "um"}
    for name, image in (("sample_lr.tif", lr16), ("sample_noisy_lr.tif", noisy_lr(lr, NOISY_PHOTONS))):
        tifffile.imwrite(
            out / name, image, imagej=True, resolution=(1 / 0.2, 1 / 0.2), metadata=meta, compression="zlib"
        )
    tifffile.imwrite(
        out / "sample_hr.tif",
        np.clip(hr16, 0, 65535).astype(np.uint16),
        imagej=True,
        resolution=(1 / 0.1, 1 / 0.1),
        metadata=meta,
        compression="zlib",
    )
    np.save(out / "sample_kernel.npy", kernel)
    print("wrote", *sorted(p.name for p in out.iterdir() if p.suffix in (".tif", ".npy")))


if __name__ == "__main__":
    main()
