"""Regenerate the bundled sample (src/dualsr/data/): a degraded microscopy image.

    python benchmarks/make_sample.py

HR: scikit-image's ``immunohistochemistry`` (512x512, public domain), as grey. LR: blurred with a known
anisotropic Gaussian, subsampled x2, scaled to 16 bit with mild shot noise.
"""

from pathlib import Path

import numpy as np
import tifffile
from skimage import data

from dualsr.degrade import degrade
from dualsr.kernel import gaussian_kernel

OUT = Path(__file__).resolve().parents[1] / "src" / "dualsr" / "data"


def main() -> None:
    hr = data.immunohistochemistry().astype(np.float64).mean(axis=-1) / 255.0
    kernel = gaussian_kernel(13, 3.0, 0.8, angle=0.6)
    lr = degrade(hr, kernel)
    rng = np.random.default_rng(0)
    photons = 4000.0
    lr16 = rng.poisson(np.clip(lr, 0, None) * photons) * (60000 / photons / 1.2) + 500
    hr16 = hr * (60000 / 1.2) + 500
    meta = {"axes": "YX", "unit": "um"}
    tifffile.imwrite(
        OUT / "sample_lr.tif",
        np.clip(lr16, 0, 65535).astype(np.uint16),
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata=meta,
        compression="zlib",
    )
    tifffile.imwrite(
        OUT / "sample_hr.tif",
        np.clip(hr16, 0, 65535).astype(np.uint16),
        imagej=True,
        resolution=(1 / 0.1, 1 / 0.1),
        metadata=meta,
        compression="zlib",
    )
    np.save(OUT / "sample_kernel.npy", kernel)
    print("wrote", *sorted(p.name for p in OUT.iterdir() if p.suffix in (".tif", ".npy")))


if __name__ == "__main__":
    main()
