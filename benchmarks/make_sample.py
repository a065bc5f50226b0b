"""Regenerate the bundled sample (src/dualsr/data/): a degraded microscopy image.

    python benchmarks/make_sample.py                 # rewrites src/dualsr/data/
    python benchmarks/make_sample.py --out FOLDER    # elsewhere (a check, or a smoke run)

HR: scikit-image's ``immunohistochemistry`` (512x512, public domain), as grey. LR: blurred with a known
anisotropic Gaussian, subsampled x2, scaled to 16 bit with mild shot noise (4000 photons at full
scale). The noisy LR: the same blurred, subsampled image with 300 photons at full scale
(``dualsr.io.sample.NOISY_PHOTONS``), on the same 16-bit scale and camera offset.

The camera sample is made the real way (issue 26): a synthetic fluorescence scene (cells, filaments,
puncta) through a water objective (NA 1.2, emission 520 nm), recorded by a camera with 80 nm pixels
(the HR) and by one with 160 nm pixels (the LR: its 2x2 binning) with shot noise of
``dualsr.io.sample.CAMERA_PHOTONS`` at full scale; the LR is an OME-TIFF naming the objective.
"""

import argparse
from pathlib import Path

import numpy as np
import tifffile
from skimage import data

from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.scenes import OPTICS, microscope_pair
from dualsr.io.sample import CAMERA_PHOTONS, NOISY_PHOTONS, NOISY_SEED
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


def camera_ome(shape: tuple[int, int], pixel_um: float) -> str:
    """OME-XML of a 16-bit 2D image recorded through :data:`OPTICS` ``na1.2``: pixel size and objective."""
    o = OPTICS["na1.2"]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        f'<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="{o.num_aperture}" Immersion="Water"/>'
        '</Instrument><Image ID="Image:0" Name="camera cells"><ObjectiveSettings ID="Objective:0" '
        f'RefractiveIndex="{o.refr_index}"/><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
        f'SizeX="{shape[1]}" SizeY="{shape[0]}" SizeZ="1" SizeC="1" SizeT="1" PhysicalSizeX="{pixel_um}" '
        f'PhysicalSizeXUnit="&#181;m" PhysicalSizeY="{pixel_um}" PhysicalSizeYUnit="&#181;m"><Channel ID="Channel:0:0" '
        f'SamplesPerPixel="1" EmissionWavelength="{o.em_wavelen:g}" EmissionWavelengthUnit="nm"/><TiffData/>'
        "</Pixels></Image></OME>"
    )


def camera_sample() -> tuple[np.ndarray, np.ndarray]:
    """``(hr, lr)`` 16-bit: the camera sample's 80 nm HR (noise-free) and its noisy 160 nm LR."""
    hr, lr = microscope_pair("mixed", 512, seed=7, optics=OPTICS["na1.2"])
    counts = np.random.default_rng(NOISY_SEED).poisson(lr * CAMERA_PHOTONS)
    return np.clip(on_16bit_scale(hr), 0, 65535).astype(np.uint16), counts_to_16bit(counts, CAMERA_PHOTONS)


def write_camera_sample(out: Path) -> None:
    hr, lr = camera_sample()
    tifffile.imwrite(
        out / "sample_camera_lr.ome.tif", lr, description=camera_ome(lr.shape, 0.16), metadata=None, compression="zlib"
    )
    meta = {"axes": "YX", "unit": "um"}
    tifffile.imwrite(
        out / "sample_camera_hr.tif", hr, imagej=True, resolution=(1 / 0.08,) * 2, metadata=meta, compression="zlib"
    )


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
    write_camera_sample(out)
    print("wrote", *sorted(p.name for p in out.iterdir() if p.suffix in (".tif", ".npy")))


if __name__ == "__main__":
    main()
