""" "Same instrument": train on one image, apply the ONNX file to another, against training on it.

    python benchmarks/onnx_same_instrument.py                    # known PSF, toy size (minutes on a CPU)
    python benchmarks/onnx_same_instrument.py --blind --steps 3000 --features 64 --crop 128   # the paper

The bundled sample's HR original (512x512 microscopy) is cut into two halves, A (top) and
B (bottom), both degraded with the sample's true kernel. DualSR is trained on LR(A) and
exported; the ONNX file is applied to LR(B) with onnxruntime. For comparison DualSR is
also trained on LR(B) itself. PSNR is against HR(B), intensities scaled to [0, 1].
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import dualsr
from dualsr.config import DualSRConfig, scheduled
from dualsr.evaluation.degrade import degrade
from dualsr.evaluation.metrics import psnr
from dualsr.io.sample import sample_hr, sample_kernel
from dualsr.paper.resize import bicubic_resize_np
from dualsr.runtime.onnx_runtime import OnnxUpsampler


def train(lr: np.ndarray, args: argparse.Namespace, kernel: np.ndarray) -> dualsr.DualSRResult:
    base = DualSRConfig(
        hr_crop=args.crop, lr_crop=args.crop // 2, up_features=args.features, dn_features=16, d_features=16
    )
    config = scheduled(args.steps, base).with_(seed=args.seed)
    return dualsr.train(lr, config=config, known_kernel=None if args.blind else kernel)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--features", type=int, default=32, help="G_UP features (the paper: 64)")
    p.add_argument("--crop", type=int, default=64, help="HR crop side (the paper: 128)")
    p.add_argument("--blind", action="store_true", help="estimate the kernel (default: the known PSF)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    hr = sample_hr().data.astype(np.float64)
    hr = (hr - hr.min()) / np.ptp(hr)
    kernel = sample_kernel()
    hr_a, hr_b = hr[:256], hr[256:]
    lr_a, lr_b = (degrade(h, kernel).astype(np.float32) for h in (hr_a, hr_b))
    bicubic = psnr(bicubic_resize_np(lr_b.astype(np.float64), 2.0), hr_b, 1.0)
    mode = "blind" if args.blind else "known PSF"
    print(f"{mode}, {args.steps} steps, {args.features} features, {args.crop}px crops, seed {args.seed}")

    on_a = train(lr_a, args, kernel)
    with tempfile.TemporaryDirectory() as tmp:
        model = on_a.export_onnx(Path(tmp) / "a.onnx")
        up = OnnxUpsampler(model, device="cpu")
        t0 = time.perf_counter()
        applied = up.upsample(lr_b)
        apply_s = time.perf_counter() - t0

    on_b = train(lr_b, args, kernel)
    rows = [
        ("bicubic x2 of LR(B)", bicubic, 0.0),
        ("trained on A, ONNX applied to B", psnr(applied, hr_b, 1.0), apply_s),
        ("trained on B itself", psnr(on_b.image, hr_b, 1.0), on_b.seconds),
    ]
    for name, value, seconds in rows:
        print(f"{name:34s} PSNR {value:6.2f} dB  ({value - bicubic:+.2f} vs bicubic)  {seconds:7.2f} s")
    print(f"(training on A took {on_a.seconds:.1f} s; PSNR on A itself {psnr(on_a.image, hr_a, 1.0):.2f} dB)")


if __name__ == "__main__":
    main()
