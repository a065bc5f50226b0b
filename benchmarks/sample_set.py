"""The bundled sample as a one-image benchmark set, clean or with its 300-photon shot noise.

    python benchmarks/sample_set.py out/sample_clean            # gt/, lr_x2/, gt_k_x2/ for 'dualsr bench'
    python benchmarks/sample_set.py out/sample_noisy --noisy
    python benchmarks/sample_set.py out/sample_p30 --photons 30   # the same recipe at another level
    dualsr bench out/sample_noisy -o out/bench_sample_noisy --methods bicubic,denoise_bicubic,bm3d_bicubic

Scores are on the uint16 scale (peak 65535), as ``dualsr bench`` scores every 16-bit set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from make_sample import noisy_lr, sample_recipe

from dualsr.evaluation.sets import write_case
from dualsr.io.sample import sample_hr, sample_kernel, sample_lr, sample_noisy_lr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--noisy", action="store_true", help="the 300-photon LR instead of the clean one")
    parser.add_argument("--photons", type=float, help="shot noise of this many photons at full scale instead")
    args = parser.parse_args()
    if args.photons:
        lr = noisy_lr(sample_recipe()[2], args.photons)
    else:
        lr = (sample_noisy_lr if args.noisy else sample_lr)().data
    write_case(args.folder, "tissue", sample_hr().data, lr, sample_kernel())
    print(f"wrote {args.folder}: gt/tissue.tif, lr_x2/tissue.tif, gt_k_x2/tissue.npy")


if __name__ == "__main__":
    main()
