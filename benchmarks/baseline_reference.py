"""The speed baseline: one DualSR training step structured like the reference implementation.

Written for ``benchmarks/speed.py`` from the description in ``DESIGN.md`` and the paper, on
top of this package's building blocks; it is *not* used by the library. It reproduces the
cost structure of the reference implementation (memad73/DualSR), float32 throughout:

- every step, the patches are cut from a NumPy image on the CPU, the x patch is resized
  bicubically x2 in NumPy (the reference's per-item ``imresize`` in its ``DataLoader``),
  and the batch is collated and converted to tensors;
- G_DN runs layer by layer (conv 7x7 1->64, 5x5 64->64, 3x3 stride 2, 1x1, 1x1, 1x1 ->1,
  channels folded into the batch) on y *and* on G_UP(x);
- the kernel prior evaluates the current kernel by pushing a delta through G_DN's layers
  (the reference's ``calc_curr_k``), every step;
- D_DN, G_UP, losses, optimisers and their settings are the paper's.

It is the same computation as :class:`dualsr.paper.step.DualSRStep` (same networks, losses and
schedule), so the two may be timed side by side on the same image. Run alone, it times a few
baseline steps on the bundled sample:

    python benchmarks/baseline_reference.py --steps 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dualsr.config import DualSRConfig
from dualsr.paper import losses
from dualsr.paper.kernel import aligned_centre, penalty_mask
from dualsr.paper.networks import G_DN_STRIDE_LAYER, G_DN_STRUCTURE, DiscriminatorDown, GeneratorUp
from dualsr.paper.patches import PatchSampler
from dualsr.paper.resize import bicubic_down_kernel, bicubic_resize_np
from dualsr.paper.schedule import Schedule


class LayeredDown(nn.Module):
    """G_DN as six convolutions, run one after the other (no composed-kernel shortcut)."""

    def __init__(self, features: int = 64) -> None:
        super().__init__()
        widths = [1] + [features] * (len(G_DN_STRUCTURE) - 1) + [1]
        self.layers = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], k, stride=2 if i == G_DN_STRIDE_LAYER else 1, bias=False)
            for i, k in enumerate(G_DN_STRUCTURE)
        )
        for conv in self.layers:
            fan_in = conv.weight[0].numel()
            nn.init.normal_(conv.weight, 1.0 / fan_in, 1.0 / fan_in)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b, c, h, w = images.shape
        out = images.reshape(b * c, 1, h, w)  # channels become a batch of grey images
        for conv in self.layers:
            out = conv(out)
        return out.reshape(b, c, *out.shape[-2:])

    def current_kernel(self) -> torch.Tensor:
        """The equivalent 13x13 kernel: a delta pushed through the layers (``calc_curr_k``)."""
        size = sum(k - 1 for k in G_DN_STRUCTURE) + 1
        delta = torch.zeros(1, 1, 2 * size - 1, 2 * size - 1)
        delta[0, 0, size - 1, size - 1] = 1.0
        out = delta
        for conv in self.layers:  # valid correlations of the (padded) delta, stride 1
            out = F.conv2d(out, conv.weight)
        return out[0, 0].flip(0, 1)


class ReferenceStep:
    """One training step at a time, reference style. ``image`` is ``(C, H, W)`` in [0, 1]."""

    def __init__(self, image: np.ndarray, config: DualSRConfig | None = None) -> None:
        c = self.config = config or DualSRConfig()
        torch.manual_seed(c.seed)
        channels = image.shape[0]
        self.g_up = GeneratorUp(channels, c.up_layers, c.up_features)
        self.g_dn = LayeredDown(c.dn_features)
        self.d_dn = DiscriminatorDown(channels, c.d_layers, c.d_features, c.d_kernel_size)
        betas = (c.beta1, c.beta2)
        self.opt_up = torch.optim.Adam(self.g_up.parameters(), c.lr_up, betas=betas)
        self.opt_dn = torch.optim.Adam(self.g_dn.parameters(), c.lr_dn, betas=betas)
        self.opt_d = torch.optim.Adam(self.d_dn.parameters(), c.lr_d, betas=betas)
        self.schedule = Schedule(c)
        # Crop positions as the reference draws them (up front, gradient-weighted); the
        # image itself stays a NumPy (H, W, C) array, as the reference's data loader holds it.
        self.sampler = PatchSampler(image, c.hr_crop, c.lr_crop, c.batch_size, c.iterations, c.seed, c.border_shave)
        self.image = np.ascontiguousarray(np.moveaxis(self.sampler.image, 0, -1).astype(np.float64))
        self.mask = torch.tensor(penalty_mask(13, c.reg_boundary_scale), dtype=torch.float32)
        self.bicubic_k = torch.tensor(bicubic_down_kernel(0.5), dtype=torch.float32)
        self.centre = aligned_centre(13)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-item NumPy crops and bicubic x2, collated into tensors (the DataLoader's work)."""
        c, s = self.config, self.sampler
        hr, lr, lr_bicubic = [], [], []
        for i in range(step * c.batch_size, (step + 1) * c.batch_size):
            (ty, tx), (ly, lx) = s.hr_corners[i], s.lr_corners[i]
            y = self.image[ty : ty + c.hr_crop, tx : tx + c.hr_crop]
            x = self.image[ly : ly + c.lr_crop, lx : lx + c.lr_crop]
            hr.append(torch.from_numpy(np.ascontiguousarray(y.transpose(2, 0, 1))).float())
            lr.append(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).float())
            up = bicubic_resize_np(x, 2.0)
            lr_bicubic.append(torch.from_numpy(np.ascontiguousarray(up.transpose(2, 0, 1))).float())
        return torch.stack(hr), torch.stack(lr), torch.stack(lr_bicubic)

    def step(self, step: int) -> torch.Tensor:
        c = self.config
        real_hr, real_lr, real_lr_bicubic = self._batch(step)
        for g in self.opt_up.param_groups:
            g["lr"] = self.schedule.lr_up(step)
        for opt, base in ((self.opt_dn, c.lr_dn), (self.opt_d, c.lr_d)):
            for g in opt.param_groups:
                g["lr"] = self.schedule.lr_down(base, step)

        # --- generators ---
        self.d_dn.requires_grad_(False)
        self.opt_up.zero_grad()
        self.opt_dn.zero_grad()
        fake_hr = self.g_up(real_lr)
        rec_lr = self.g_dn(fake_hr)
        fake_lr = self.g_dn(real_hr)
        rec_hr = self.g_up(fake_lr)
        loss_gan = losses.lsgan(self.d_dn(fake_lr), True)
        loss_cyc_f = losses.cycle_l1(rec_lr, real_lr) * c.lambda_cycle
        loss_cyc_b = losses.cycle_l1(rec_hr, real_hr) * c.lambda_cycle
        mask = losses.interp_mask(real_lr_bicubic.detach())
        loss_interp = losses.masked_interp(fake_hr, real_lr_bicubic, mask) * c.lambda_interp
        k = self.g_dn.current_kernel()
        w = self.schedule.weights
        bicubic = losses.bicubic_similarity(fake_lr, real_hr, self.bicubic_k)
        prior = (
            w.bicubic * bicubic
            + w.sum2one * losses.kernel_sum_to_one(k)
            + w.boundaries * losses.kernel_boundaries(k, self.mask)
            + w.centralized * losses.kernel_centralized(k, self.centre)
            + w.sparse * losses.kernel_sparsity(k, c.reg_sparse_power)
        )
        total = loss_gan + loss_cyc_f + loss_cyc_b + loss_interp + c.lambda_reg * prior
        total.backward()
        self.opt_up.step()
        self.opt_dn.step()

        # --- discriminator ---
        self.d_dn.requires_grad_(True)
        self.opt_d.zero_grad()
        pred_fake = self.d_dn(fake_lr.detach())
        pred_real = self.d_dn(losses.shave_to(real_lr, fake_lr))
        loss_d = 0.5 * (losses.lsgan(pred_real, True) + losses.lsgan(pred_fake, False))
        loss_d.backward()
        self.opt_d.step()
        self.schedule.after_step(step, bicubic.item())
        return torch.stack([t.detach() for t in (total, loss_cyc_f, loss_cyc_b, loss_interp, loss_d)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3, help="baseline steps to time (default 3)")
    args = p.parse_args()
    from dualsr.io.normalize import fit_normalization
    from dualsr.io.sample import sample_lr

    lr = sample_lr().data
    reference = ReferenceStep(fit_normalization(lr).apply(lr)[None])
    for i in range(args.steps):
        start = time.perf_counter()
        total = float(reference.step(i)[0])
        print(f"baseline step {i}: {time.perf_counter() - start:.2f} s, total loss {total:.4f}", flush=True)


if __name__ == "__main__":
    main()
