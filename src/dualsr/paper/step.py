"""One DualSR iteration (paper sec. 3-4, eq. 2-7): G_UP, G_DN and D_DN, their losses and optimisers.

:class:`DualSRStep` builds the three networks, draws the patches and performs one generator
step (eq. 2, one backward for G_UP and G_DN together) and one discriminator step (eq. 4) per
call, with the schedules of :mod:`dualsr.paper.schedule`. The loop around it (reports,
stopping, the kernel's convergence) is :mod:`dualsr.engine.loop`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import numpy as np
import torch

from dualsr.config import DualSRConfig
from dualsr.paper import losses
from dualsr.paper.kernel import aligned_centre, final_kernel, penalty_mask
from dualsr.paper.networks import DiscriminatorDown, FixedDown, GeneratorDown, GeneratorUp, downsample_with_kernel
from dualsr.paper.patches import PatchSampler
from dualsr.paper.resize import bicubic_down_kernel, bicubic_resize
from dualsr.paper.schedule import Schedule

LOSS_NAMES = ("total", "gan", "cycle_forward", "cycle_backward", "interp", "prior", "bicubic", "discriminator")


def native_bf16_cpu() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512-BF16 or AMX), as oneDNN sees it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _adam(params, lr: float, c: DualSRConfig, device: torch.device) -> torch.optim.Adam:  # noqa: ANN001
    """The paper's Adam; on CUDA the fused kernel (one launch per step, same update rule)."""
    return torch.optim.Adam(params, lr, betas=(c.beta1, c.beta2), fused=device.type == "cuda" or None)


class DualSRStep:
    """State of one run on a normalised ``(C, H, W)`` image; ``step()`` performs one DualSR iteration.

    The ``_make_g_up``, ``_training_image``, ``_split``, ``_guide``, ``_seen`` and ``_up`` methods are
    the paper's (noise-free) degradation; :class:`dualsr.noise.step.NoiseAwareStep` overrides them.
    ``soften`` (None: the paper) is an extension's hook: the backward cycle on a softened copy of its
    patch (``dualsr.engine.softening``, in no preset).
    """

    def __init__(
        self,
        image: np.ndarray,
        config: DualSRConfig,
        device: torch.device,
        known_kernel: np.ndarray | None,
        soften: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        c = config
        self.config, self.device = c, device
        self.soften = soften  # the backward cycle's HR patch made softer first (an extension); None: the paper
        self.channels = image.shape[-3]  # (C, H, W), or (P, C, H, W) planes sharing one kernel
        self.g_up = self._make_g_up()
        image = self._training_image(image)
        self.learn_kernel = known_kernel is None
        if self.learn_kernel:
            self.g_dn = GeneratorDown(c.dn_features).to(device)
            self.d_dn = DiscriminatorDown(self.channels, c.d_layers, c.d_features, c.d_kernel_size, c.d_init).to(device)
            self.opt_dn = _adam(self.g_dn.parameters(), c.lr_dn, c, device)
            self.opt_d = _adam(self.d_dn.parameters(), c.lr_d, c, device)
            self.mask = torch.as_tensor(penalty_mask(13, c.reg_boundary_scale), dtype=torch.float32, device=device)
            self.bicubic_k = torch.as_tensor(bicubic_down_kernel(0.5), dtype=torch.float32, device=device)
        else:
            self.g_dn = FixedDown(torch.as_tensor(known_kernel)).to(device)
        self.opt_up = _adam(self.g_up.parameters(), c.lr_up, c, device)
        self.schedule = Schedule(c)
        self.sampler = PatchSampler(
            image,
            c.hr_crop,
            c.lr_crop,
            c.batch_size,
            c.iterations,
            c.seed,
            c.border_shave,
            c.grad_map_window,
            c.grad_map_percentile,
        ).to(device)
        use_bf16 = c.precision == "bfloat16"
        if use_bf16 and device.type == "cpu" and not native_bf16_cpu():
            warnings.warn(
                "precision bfloat16 on a CPU without AVX-512-BF16/AMX runs emulated, about 100x slower than "
                "float32 (docs/performance.md); use precision float32",
                RuntimeWarning,
                stacklevel=3,
            )
        self.autocast = (
            (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
        )
        self.zero = torch.zeros((), device=device)

    def _set_lrs(self, step: int) -> None:
        c, s = self.config, self.schedule
        for g in self.opt_up.param_groups:
            g["lr"] = s.lr_up(step)
        if self.learn_kernel:
            for g in self.opt_dn.param_groups:
                g["lr"] = s.lr_down(c.lr_dn, step)
            for g in self.opt_d.param_groups:
                g["lr"] = s.lr_down(c.lr_d, step)

    def _make_g_up(self) -> torch.nn.Module:
        c = self.config
        return GeneratorUp(self.channels, c.up_layers, c.up_features).to(self.device)

    def _training_image(self, image: np.ndarray) -> np.ndarray:
        """What the patches are cut from: the image itself."""
        return image

    def _up(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """G_UP's x2 of ``x`` (``guide``: see :class:`dualsr.noise.step.NoiseAwareStep`)."""
        with self.autocast():
            out = self.g_up(x)
        return out.float()

    def _split(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(as G_UP reads it, target the losses compare with)`` of a batch: the same tensor here."""
        return patches, patches

    def _guide(self, patches: torch.Tensor) -> torch.Tensor | None:
        """A second input for G_UP cut with the batch: none here."""
        return None

    def _seen(self, lr: torch.Tensor) -> torch.Tensor:
        """G_DN's output as G_UP and D_DN meet it: as it is here."""
        return lr

    def _backward_cycle(self, y: torch.Tensor, k: torch.Tensor, seen_lr: torch.Tensor) -> torch.Tensor:
        """``|G_UP(G_DN(y)) - y|`` (eq. 6); with ``soften``, of the softened ``y`` instead, through the
        kernel as it stands (no gradient to G_DN: its GAN still sees the patch as cut)."""
        if self.soften is None:
            return losses.cycle_l1(self._up(seen_lr), y)
        soft = self.soften(y)
        return losses.cycle_l1(self._up(self._seen(downsample_with_kernel(soft, k.detach()))), soft)

    def step(self, step: int) -> torch.Tensor:
        """One iteration; returns the detached losses in ``LOSS_NAMES`` order."""
        c = self.config
        y, x = self.sampler.patches(step)
        x_guide = self._guide(x)
        x, x_target = self._split(x)  # G_UP reads x as it is; losses compare with the clean target
        y = self._split(y)[1]
        with torch.no_grad():
            x_bicubic = bicubic_resize(x_target, 2)
            mask = losses.interp_mask(x_bicubic)
        self._set_lrs(step)
        zero = self.zero

        # --- generators: one backward for G_UP and G_DN together (eq. 2) ---
        if self.learn_kernel:
            self.d_dn.requires_grad_(False)
            self.opt_dn.zero_grad(set_to_none=True)
        self.opt_up.zero_grad(set_to_none=True)
        k = self.g_dn.kernel()
        fake_hr = self._up(x, x_guide)
        fake_lr = downsample_with_kernel(y, k)
        seen_lr = self._seen(fake_lr)
        cyc_f = losses.cycle_l1(downsample_with_kernel(fake_hr, k), x_target) if c.use_forward_cycle else zero
        cyc_b = self._backward_cycle(y, k, seen_lr) if c.use_backward_cycle else zero
        interp = losses.masked_interp(fake_hr, x_bicubic, mask) if c.use_interp_loss else zero
        gan = prior = bicubic = zero
        if self.learn_kernel:
            gan = losses.lsgan(self.d_dn(seen_lr), True)
            w = self.schedule.weights
            bicubic = losses.bicubic_similarity(fake_lr, y, self.bicubic_k)
            prior = (
                w.bicubic * bicubic
                + w.sum2one * losses.kernel_sum_to_one(k)
                + w.boundaries * losses.kernel_boundaries(k, self.mask)
                + w.centralized * losses.kernel_centralized(k, aligned_centre(k.shape[0]))
                + w.sparse * losses.kernel_sparsity(k, c.reg_sparse_power)
            )
        total = gan + c.lambda_cycle * (cyc_f + cyc_b) + c.lambda_interp * interp + c.lambda_reg * prior
        total.backward()

        # --- discriminator (eq. 4) ---
        d_loss = zero
        if self.learn_kernel:
            self.d_dn.requires_grad_(True)
            self.opt_d.zero_grad(set_to_none=True)
            fake = seen_lr.detach()
            real = losses.shave_to(x, fake)
            # fake first, then real: each spectral-norm forward advances its power iteration,
            # so the order is part of the reference's computation
            loss_fake = losses.lsgan(self.d_dn(fake), False)
            d_loss = 0.5 * (losses.lsgan(self.d_dn(real), True) + loss_fake)
            d_loss.backward()
        # All updates come after all passes (the same arithmetic: D trains on the detached
        # fake), so a step that fails -- CUDA out of memory -- leaves G_UP and G_DN as the
        # last finished step left them.
        self.opt_up.step()
        if self.learn_kernel:
            self.opt_dn.step()
            self.opt_d.step()
            # The bicubic loss is read back only until the schedule stops needing it.
            needed = not self.schedule.similar_to_bicubic
            self.schedule.after_step(step, float(bicubic.detach()) if needed else 0.0)
        values = [
            total,
            gan,
            c.lambda_cycle * cyc_f,
            c.lambda_cycle * cyc_b,
            c.lambda_interp * interp,
            c.lambda_reg * prior,
            bicubic,
            d_loss,
        ]
        return torch.stack([v.detach().float() for v in values])

    def kernel(self) -> np.ndarray:
        with torch.no_grad():
            return self.g_dn.kernel().double().cpu().numpy()

    def reported_kernel(self) -> np.ndarray:
        """The kernel as a result would report it now."""
        raw = self.kernel()
        return final_kernel(raw, self.config.kernel_keep_top) if self.learn_kernel else raw


__all__ = ["LOSS_NAMES", "DualSRStep", "native_bf16_cpu"]
