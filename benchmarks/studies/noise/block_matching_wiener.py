"""A block-matching Wiener step (BM3D's second step, in torch) as the clean copy's filter: a prototype.

The product's copy is NLM followed by two sliding-DCT Wiener passes (:mod:`dualsr.noise.wiener`),
BM3D's second step without its block matching. Here each 8x8 reference block (every 3rd pixel)
is grouped with its 16 most similar blocks within +-8 pixels (distance on the pilot), the group
is transformed in 3-D (2-D DCT of each block, DCT across the group), shrunk coefficient by
coefficient by ``P^2 / (P^2 + sigma^2)`` (``P`` the pilot's coefficient), transformed back and
aggregated with BM3D's weights. Scored as the product's denoisers are (variance-stabilised,
exact unbiased inverse), against the noise-free LR: the tissue sample at 300 and 30 photons and
the grey images of a ``dualsr bench`` set with the same shot noise.

    OMP_NUM_THREADS=2 python benchmarks/studies/noise/block_matching_wiener.py out/bench384/set camera moon
    OMP_NUM_THREADS=2 python benchmarks/studies/noise/block_matching_wiener.py out/bench384/set --group 32 --average
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from denoisers import shot_noise_8bit  # beside this script

import dualsr.noise.denoise as dn
from dualsr.evaluation.metrics import psnr
from dualsr.evaluation.sets import load_cases
from dualsr.noise.wiener import dct_matrix, pad_edges

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for make_sample.py
from make_sample import noisy_lr, on_16bit_scale, sample_recipe  # noqa: E402

_GAUSSIAN = dn._gaussian_denoise


def _references(start: int, size: int, block: int, stride: int) -> list[int]:
    """Top-left corners every ``stride`` pixels, the last block flush with the image's edge."""
    out = list(range(start, start + size - block + 1, stride))
    return sorted({*out, start + size - block})


def _match(pilot: torch.Tensor, ry: torch.Tensor, rx: torch.Tensor, block: int, radius: int, k: int):
    """Per reference corner, the offsets of its ``k`` most similar blocks of the (padded) pilot."""
    lh, lw = pilot.shape[-2] - block + 1, pilot.shape[-1] - block + 1
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    dists = torch.empty(len(offsets), ry.numel())
    for i, (dy, dx) in enumerate(offsets):
        shifted = torch.roll(pilot, shifts=(-dy, -dx), dims=(-2, -1))
        d = F.avg_pool2d((shifted - pilot).square(), block, stride=1)[0, 0][ry, rx]
        inside = (ry + dy >= 0) & (ry + dy < lh) & (rx + dx >= 0) & (rx + dx < lw)
        dists[i] = torch.where(inside, d, torch.full_like(d, 1e9))
    best = torch.topk(dists, k, dim=0, largest=False).indices
    oy = torch.tensor([o[0] for o in offsets])[best]
    ox = torch.tensor([o[1] for o in offsets])[best]
    return (ry[None] + oy) * lw + (rx[None] + ox)  # (k, N): each matched block's column in unfold's order


def bm_wiener(noisy: np.ndarray, pilot: np.ndarray, sigma: float, block=8, stride=3, radius=8, k=16) -> np.ndarray:
    """One block-matching Wiener pass of a 2-D ``noisy`` plane (noise std ``sigma``) guided by ``pilot``."""
    z, p = (pad_edges(torch.as_tensor(a, dtype=torch.float32)[None, None], radius) for a in (noisy, pilot))
    h, w = noisy.shape
    ry, rx = torch.meshgrid(
        torch.tensor(_references(radius, h, block, stride)),
        torch.tensor(_references(radius, w, block, stride)),
        indexing="ij",
    )
    idx = _match(p, ry.reshape(-1), rx.reshape(-1), block, radius, k).reshape(-1)
    cz, cp = F.unfold(z, block)[0], F.unfold(p, block)[0]  # (64, every block)
    d2, dk = torch.kron(dct_matrix(block), dct_matrix(block)).float(), dct_matrix(k).float()

    def forward(cols: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ab,bkn,jk->ajn", d2, cols[:, idx].reshape(block * block, k, -1), dk)

    coef_z, coef_p = forward(cz), forward(cp)
    gain = coef_p.square() / (coef_p.square() + sigma**2)
    weight = 1.0 / (sigma**2 * gain.square().sum((0, 1)) + 1e-12)
    estimate = torch.einsum("ab,akn,kj->bjn", d2, gain * coef_z, dk) * weight
    num, den = torch.zeros_like(cz), torch.zeros_like(cz)
    num.index_add_(1, idx, estimate.reshape(block * block, -1))
    den.index_add_(1, idx, weight.expand(block * block, k, -1).reshape(block * block, -1))
    size = z.shape[-2:]
    num, den = (F.fold(c[None], size, block)[0, 0] for c in (num, den))
    out = torch.where(den > 0, num / den.clamp(min=1e-12), p[0, 0])
    return out[radius : radius + h, radius : radius + w].double().numpy()


OPTIONS = {"k": 16, "stride": 3}
AVERAGE = []  # non-empty: average the result with the product's filter


def _block_matching(image: np.ndarray, sigma: float, method: str, channel_axis: int | None) -> np.ndarray:
    """NLM, then two block-matching Wiener passes (grey planes); averaged with the product's filter if asked."""
    pilot = _GAUSSIAN(image, sigma, "nlm", channel_axis)
    for _ in range(2):
        pilot = bm_wiener(image, pilot, sigma, **OPTIONS)
    return 0.5 * (pilot + _GAUSSIAN(image, sigma, "nlm_wiener", channel_axis)) if AVERAGE else pilot


def _score(noisy: np.ndarray, clean: np.ndarray, peak: float, block_matching: bool) -> str:
    dn._gaussian_denoise = _block_matching if block_matching else _GAUSSIAN
    start = time.perf_counter()
    out = dn.denoise(noisy)
    dn._gaussian_denoise = _GAUSSIAN
    return f"{psnr(out.astype(np.float64), clean, peak):.2f} ({time.perf_counter() - start:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="a dualsr bench set folder (its grey LR images are the noise-free truth)")
    parser.add_argument("names", nargs="*", help="images (default: all grey ones)")
    parser.add_argument("--group", type=int, default=16, help="blocks per group (default 16)")
    parser.add_argument("--stride", type=int, default=3, help="reference blocks every N pixels (default 3)")
    parser.add_argument("--average", action="store_true", help="average with the product's filter")
    args = parser.parse_args()
    OPTIONS.update(k=args.group, stride=args.stride)
    AVERAGE.extend([True] if args.average else [])
    _hr, _kernel, lr = sample_recipe()
    cases = [(f"tissue sample @{p:g}", noisy_lr(lr, p), on_16bit_scale(lr), 65535.0) for p in (300, 30)]
    for case in load_cases(args.set, names=args.names or None):
        if case.lr.ndim == 2:
            clean = case.lr.astype(np.float64)
            for p in (300, 30):
                cases.append((f"{case.name} @{p:g}", shot_noise_8bit(clean, p), clean, 255.0))
    variant = f"groups of {args.group}, every {args.stride} px" + (", averaged" if args.average else "")
    print(f"| LR, photons | NLM + Wiener x2 (the product) | NLM + block-matching Wiener x2 ({variant}) |")
    print("| --- | ---: | ---: |")
    for name, noisy, clean, peak in cases:
        print(f"| {name} | {_score(noisy, clean, peak, False)} | {_score(noisy, clean, peak, True)} |", flush=True)


if __name__ == "__main__":
    main()
