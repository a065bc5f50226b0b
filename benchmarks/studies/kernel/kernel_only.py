"""Diagnostic: the engine's kernel estimator alone (G_DN + D_DN + kernel prior, no G_UP).

This is KernelGAN inside DualSR: the same networks, patches, prior, schedule and learning
rates as ``dualsr.engine.loop``, without the cycle and interpolation losses (so without G_UP,
which is most of the cost). It shows whether the kernel estimate converges to the true
kernel on a benchmark image, and how fast, at a small fraction of a DualSR run's time.

    python benchmarks/studies/kernel/kernel_only.py out/bench384/set astronaut camera --iterations 400 3000
    python benchmarks/studies/kernel/kernel_only.py out/bench384/set astronaut camera --iterations 400 --uncompressed
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dualsr.config import DualSRConfig, preset
from dualsr.evaluation.metrics import kernel_covariance, kernel_error
from dualsr.evaluation.sets import load_cases
from dualsr.paper import losses
from dualsr.paper.kernel import aligned_centre, final_kernel, penalty_mask
from dualsr.paper.networks import DiscriminatorDown, GeneratorDown, downsample_with_kernel
from dualsr.paper.patches import PatchSampler
from dualsr.paper.resize import bicubic_down_kernel
from dualsr.paper.schedule import Schedule


def estimate(
    image: np.ndarray,
    iterations: int,
    seed: int = 0,
    log_every: int = 0,
    compressed: bool = True,
    d_init: str = "xavier",
) -> np.ndarray:
    """The raw 13x13 kernel after ``iterations`` steps.

    ``compressed``: the schedule squeezed into ``iterations`` as the presets do; else the
    paper's schedule (decay every 750 steps, prior updates every 200) cut off early.
    """
    c = preset("paper", iterations=iterations, seed=seed)
    if not compressed:
        c = DualSRConfig(iterations=iterations, seed=seed)
    torch.manual_seed(c.seed)
    device = torch.device("cpu")
    chw = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    chw = np.ascontiguousarray(chw, dtype=np.float32)
    g_dn = GeneratorDown(c.dn_features)
    d_dn = DiscriminatorDown(chw.shape[0], c.d_layers, c.d_features, c.d_kernel_size, d_init)
    opt_g = torch.optim.Adam(g_dn.parameters(), c.lr_dn, betas=(c.beta1, c.beta2))
    opt_d = torch.optim.Adam(d_dn.parameters(), c.lr_d, betas=(c.beta1, c.beta2))
    mask = torch.as_tensor(penalty_mask(13, c.reg_boundary_scale), dtype=torch.float32)
    bic = torch.as_tensor(bicubic_down_kernel(0.5), dtype=torch.float32)
    schedule = Schedule(c)
    sampler = PatchSampler(
        chw, c.hr_crop, c.lr_crop, c.batch_size, c.iterations, c.seed, c.border_shave, c.grad_map_window
    ).to(device)
    for step in range(iterations):
        for g in opt_g.param_groups:
            g["lr"] = schedule.lr_down(c.lr_dn, step)
        for g in opt_d.param_groups:
            g["lr"] = schedule.lr_down(c.lr_d, step)
        y, x = sampler.patches(step)
        d_dn.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        k = g_dn.kernel()
        fake = downsample_with_kernel(y, k)
        w = schedule.weights
        bicubic = losses.bicubic_similarity(fake, y, bic)
        prior = (
            w.bicubic * bicubic
            + w.sum2one * losses.kernel_sum_to_one(k)
            + w.boundaries * losses.kernel_boundaries(k, mask)
            + w.centralized * losses.kernel_centralized(k, aligned_centre(13))
            + w.sparse * losses.kernel_sparsity(k, c.reg_sparse_power)
        )
        total = losses.lsgan(d_dn(fake), True) + c.lambda_reg * prior
        total.backward()
        opt_g.step()
        d_dn.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        real = losses.shave_to(x, fake)
        d_loss = 0.5 * (losses.lsgan(d_dn(real), True) + losses.lsgan(d_dn(fake.detach()), False))
        d_loss.backward()
        opt_d.step()
        schedule.after_step(step, float(bicubic.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"  step {step + 1}: bicubic w {w.bicubic:.1e}, sparse w {w.sparse}, d {float(d_loss):.3f}")
    with torch.no_grad():
        return g_dn.kernel().double().numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set")
    p.add_argument("images", nargs="+")
    p.add_argument("--iterations", type=int, nargs="+", default=[400, 3000])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--uncompressed", action="store_true", help="the paper's schedule cut off, not compressed")
    p.add_argument("--d-init", default="xavier", choices=["xavier", "reference"], help="D_DN's init (networks.py)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--save-dir", default="/tmp", help="where the raw kernels go (kernel_only_*.npy; default /tmp)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for case in load_cases(args.set, names=args.images):
        lr = case.lr.astype(np.float32) / 255.0
        true_eig = np.linalg.eigvalsh(kernel_covariance(case.kernel))
        print(f"{case.name}: true kernel covariance eigenvalues {np.round(true_eig, 2)}")
        for n, seed in ((n, s) for n in args.iterations for s in args.seeds):
            start = time.perf_counter()
            raw = estimate(lr, n, seed, compressed=not args.uncompressed, d_init=args.d_init)
            k = final_kernel(raw)
            err = kernel_error(k, case.kernel)
            print(
                f"  {n} steps, seed {seed}, D init {args.d_init} ({time.perf_counter() - start:.0f} s): "
                "raw eigenvalues "
                f"{np.round(np.linalg.eigvalsh(kernel_covariance(raw)), 2)}, sum {raw.sum():.3f}; final kernel "
                f"max err {err['kernel_max_rel']:.0%} of peak, min {k.min() / k.max():+.1%} of peak"
            )
            tag = f"{case.name}_{n}_{seed}_{args.d_init}{'_cut' if args.uncompressed else ''}"
            np.save(f"{args.save_dir}/kernel_only_{tag}.npy", raw)


if __name__ == "__main__":
    main()
