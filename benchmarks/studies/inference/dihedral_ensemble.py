"""Would more members than the 180° self-ensemble pay where the kernel allows them?

Flips are valid where the kernel is axis-aligned and all eight turns and flips where it is round
(a lateral microscope PSF). This trains ``fast`` once on an image blurred by a round Gaussian
and scores the same upsampler alone, with the 180° ensemble, with the four flips and with all
eight members (each member one more G_UP pass at inference).

    python benchmarks/studies/inference/dihedral_ensemble.py camera 2.0       # image, kernel variance (HR px²)
    python benchmarks/studies/inference/dihedral_ensemble.py tissue 2.5 4000  # the sample's HR, 4000-photon noise
"""

from __future__ import annotations

import argparse

import numpy as np
import skimage.data
import torch
from skimage.color import rgb2gray
from torch import nn

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import sr_metrics
from dualsr.inference.upsampler import upsample
from dualsr.io.sample import sample_hr
from dualsr.paper.kernel import gaussian_kernel
from dualsr.paper.resize import bicubic_resize_np

# (x -> member input, member output -> back): identity, flips, 180°, transpose and its turns
TURNS = [
    (lambda x: x, lambda y: y),
    (lambda x: x.flip(-1), lambda y: y.flip(-1)),
    (lambda x: x.flip(-2), lambda y: y.flip(-2)),
    (lambda x: x.flip(-2, -1), lambda y: y.flip(-2, -1)),
    (lambda x: x.transpose(-2, -1), lambda y: y.transpose(-2, -1)),
    (lambda x: x.transpose(-2, -1).flip(-1), lambda y: y.flip(-1).transpose(-2, -1)),
    (lambda x: x.transpose(-2, -1).flip(-2), lambda y: y.flip(-2).transpose(-2, -1)),
    (lambda x: x.transpose(-2, -1).flip(-2, -1), lambda y: y.flip(-2, -1).transpose(-2, -1)),
]
ENSEMBLES = {"single": [0], "rot180": [0, 3], "flips (4)": [0, 1, 2, 3], "all eight": list(range(8))}


class Ensemble(nn.Module):
    def __init__(self, model: nn.Module, members: list[int]) -> None:
        super().__init__()
        self.model, self.members = model, members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(TURNS[i][1](self.model(TURNS[i][0](x))) for i in self.members) / len(self.members)


def hr_image(name: str, size: int = 384) -> np.ndarray:
    if name == "tissue":
        return sample_hr().data.astype(np.float64) / 65535
    image = getattr(skimage.data, name)()
    image = rgb2gray(image) if image.ndim == 3 else image / 255.0
    h, w = image.shape
    return image[(h - size) // 2 : (h + size) // 2, (w - size) // 2 : (w + size) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="'tissue' (the sample's HR) or a scikit-image grey/RGB image name")
    parser.add_argument("variance", type=float, help="the round kernel's variance, HR px²")
    parser.add_argument("photons", type=float, nargs="?", default=0.0, help="shot noise: photons at full scale")
    parser.add_argument("--iterations", type=int, default=None, help="training steps (default: fast's)")
    parser.add_argument("--size", type=int, default=384, help="HR crop side of a scikit-image image (default 384)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    hr = hr_image(args.image, args.size)
    lr = np.clip(degrade(hr, gaussian_kernel(13, args.variance, args.variance)), 0, 1)
    if args.photons:
        lr = np.random.default_rng(0).poisson(lr * args.photons) / args.photons
    lr16, hr16 = (np.round(np.clip(a, 0, 1) * 65535).astype(np.uint16) for a in (lr, hr))
    result = train(lr16, config=preset("fast", iterations=args.iterations), axes="YX")
    result.upsampler.ensemble = False
    cov = result.kernel_estimates[0].covariance
    print(f"{args.image}, round kernel {args.variance} px², estimate {np.round(cov, 2).tolist()}")
    bicubic = np.round(np.clip(bicubic_resize_np(lr16 / 65535, 2.0), 0, 1) * 65535).astype(np.uint16)
    print(f"  bicubic    {sr_metrics(bicubic, hr16, 2, 65535.0)['psnr']:.2f} dB")
    for label, members in ENSEMBLES.items():
        sr = upsample(Ensemble(result.upsampler, members), lr16, axes="YX", norm=result.normalization)
        print(f"  {label:10s} {sr_metrics(sr, hr16, 2, 65535.0)['psnr']:.2f} dB")


if __name__ == "__main__":
    main()
