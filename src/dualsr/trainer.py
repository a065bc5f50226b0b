"""The DualSR training loop on one normalised image plane (paper sec. 3-4).

``train_plane`` is the whole method: it builds G_UP, G_DN and D_DN, draws patches,
and alternates one generator step (eq. 2) and one discriminator step (eq. 4) per
iteration, with the schedules of :mod:`dualsr.schedule`. Evaluation, plotting and
file handling live elsewhere.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from . import losses
from .config import DualSRConfig
from .convergence import KNOWN, KernelTracker
from .denoise_net import ShotNoiseDenoiser
from .errors import DualSRInputError
from .kernel import aligned_centre, final_kernel, penalty_mask
from .networks import DiscriminatorDown, FixedDown, GeneratorDown, GeneratorUp, downsample_with_kernel
from .noise_aware import GuidedUp, add_noise
from .patches import PatchSampler
from .resize import bicubic_down_kernel, bicubic_resize
from .schedule import Schedule

LOSS_NAMES = ("total", "gan", "cycle_forward", "cycle_backward", "interp", "prior", "bicubic", "discriminator")


@dataclass
class StepInfo:
    """What a progress callback receives."""

    step: int  # steps finished
    iterations: int
    losses: dict[str, float]
    seconds: float
    kernel: np.ndarray | None = None  # the kernel as it would be reported now (aligned, sums to 1)
    kernel_state: str = ""  # see dualsr.convergence: known / settling / settled
    model: torch.nn.Module | None = None  # the live G_UP (read it on the training thread only)
    preview: Callable[..., np.ndarray] | None = None  # set by dualsr.train: the x2 as it is now (dualsr.preview)


@dataclass
class PlaneTraining:
    """Outcome of training on one plane: the upsampler, the raw kernel, the history."""

    g_up: GeneratorUp
    raw_kernel: np.ndarray
    history: dict[str, np.ndarray] = field(default_factory=dict)
    steps: int = 0
    stopped: bool = False
    seconds: float = 0.0
    stop_reason: str = ""  # why training ended early other than on request (out of memory)
    kernel_state: str = KNOWN  # see dualsr.convergence
    kernel_change: float = float("nan")  # last measured change of the kernel (fraction of its peak)


def native_bf16_cpu() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512-BF16 or AMX), as oneDNN sees it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _adam(params, lr: float, c: DualSRConfig, device: torch.device) -> torch.optim.Adam:  # noqa: ANN001
    """The paper's Adam; on CUDA the fused kernel (one launch per step, same update rule)."""
    return torch.optim.Adam(params, lr, betas=(c.beta1, c.beta2), fused=device.type == "cuda" or None)


class _Loop:
    """State of one run; ``step()`` performs one DualSR iteration."""

    def __init__(
        self,
        image: np.ndarray,
        config: DualSRConfig,
        device: torch.device,
        known_kernel: np.ndarray | None,
        clean: np.ndarray | None = None,
        noise: tuple[float, float] | None = None,
    ) -> None:
        c = config
        self.config, self.device = c, device
        channels = image.shape[-3]  # (C, H, W), or (P, C, H, W) planes sharing one kernel
        self.channels = channels
        # noise model (dualsr.noise_aware): patches carry the noisy channels, then their clean copy
        if (clean is None) != (noise is None):
            raise ValueError("a noise model needs both the clean copy and the noise statistics")
        self.noise = noise
        guided = clean is not None and c.noise_guide
        g_up = GeneratorUp(channels, c.up_layers, c.up_features, channels if guided else 0).to(device)
        self.g_up: GeneratorUp | GuidedUp = g_up
        if clean is not None:
            image = np.concatenate([image, clean], axis=-3)
            self.noise_generator = torch.Generator(device).manual_seed(c.seed + 1)
        if guided:  # a third block of channels: the image as the exported denoiser sees it
            self.g_up = GuidedUp(g_up, ShotNoiseDenoiser(noise, channels)).to(device)
            image = np.concatenate([image, self.g_up.denoise_image(image[..., :channels, :, :])], axis=-3)
        self.learn_kernel = known_kernel is None
        if self.learn_kernel:
            self.g_dn = GeneratorDown(c.dn_features).to(device)
            self.d_dn = DiscriminatorDown(channels, c.d_layers, c.d_features, c.d_kernel_size, c.d_init).to(device)
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

    def _up(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """G_UP's x2 of ``x``; a guided G_UP reads ``guide`` (the denoised ``x``, made if not given)."""
        with self.autocast():
            out = self.g_up(x, guide) if isinstance(self.g_up, GuidedUp) else self.g_up(x)
        return out.float()

    def _split(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(as seen, clean target)`` of a batch: the same tensor without a noise model."""
        if self.noise is None:
            return patches, patches
        c = self.channels
        return patches[:, :c], patches[:, c : 2 * c]

    def _guide(self, patches: torch.Tensor) -> torch.Tensor | None:
        """The guide's block of a batch (a guided G_UP), else None."""
        return patches[:, 2 * self.channels :] if isinstance(self.g_up, GuidedUp) else None

    def _seen(self, lr: torch.Tensor) -> torch.Tensor:
        """G_DN's output as G_UP and D_DN meet it: with the image's noise where there is a model."""
        return lr if self.noise is None else add_noise(lr, self.noise, self.noise_generator)

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
        cyc_b = losses.cycle_l1(self._up(seen_lr), y) if c.use_backward_cycle else zero
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


def train_plane(
    image: np.ndarray,
    config: DualSRConfig,
    device: torch.device,
    known_kernel: np.ndarray | None = None,
    progress: Callable[[StepInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    report_every: int = 10,
    fixed_state: str = KNOWN,
    clean: np.ndarray | None = None,
    noise: tuple[float, float] | None = None,
) -> PlaneTraining:
    """Train DualSR on ``image``: a normalised ``(C, H, W)`` float array, or ``(P, C, H, W)``
    planes of one stack (crops from all of them, one kernel, one G_UP).

    ``known_kernel`` (aligned, see :func:`dualsr.kernel.prepare_known_kernel`) fixes
    G_DN; then the GAN and the kernel prior, which only shape G_DN, are skipped, and
    ``fixed_state`` is what the run reports about that kernel (a user's kernel is
    "known"; a closed-form estimate is "settled" or "not settled").
    ``clean`` (the image denoised, same shape) and ``noise`` (gain, offset variance on the
    normalised scale) switch on the noise model of :mod:`dualsr.noise_aware`.
    ``should_stop`` is polled every step; a stopped run returns what it has.
    """
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        loop = _Loop(image, config, device, known_kernel, clean, noise)
    with _device_settings(device):
        return _run(loop, config, progress, should_stop, report_every, fixed_state)


@contextlib.contextmanager
def _device_settings(device: torch.device) -> Iterator[None]:
    """Per-run backend settings: on CUDA let cuDNN pick the fastest algorithms for the
    fixed patch shapes (results equal to float tolerance, not bit for bit)."""
    if device.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def _run(
    loop: _Loop,
    config: DualSRConfig,
    progress: Callable[[StepInfo], None] | None,
    should_stop: Callable[[], bool] | None,
    report_every: int,
    fixed_state: str,
) -> PlaneTraining:
    start = time.perf_counter()
    rows: list[torch.Tensor] = []
    history = np.zeros((0, len(LOSS_NAMES)))
    done, stopped, reason = 0, False, ""
    tracker = KernelTracker(config.settle_window, config.kernel_settle_tolerance)
    for step in range(config.iterations):
        if should_stop is not None and should_stop():
            stopped = True
            break
        try:
            rows.append(loop.step(step))
        except torch.OutOfMemoryError:
            stopped, reason = True, out_of_memory_stop(loop.device, done)
            break
        done = step + 1
        if done % report_every == 0 or done in (1, config.iterations):
            history = np.concatenate([history, torch.stack(rows).cpu().numpy()])
            rows = []
            kernel = loop.reported_kernel()
            state = tracker.update(done, kernel) if loop.learn_kernel else fixed_state
            if progress is not None:
                progress(
                    StepInfo(
                        done,
                        config.iterations,
                        dict(zip(LOSS_NAMES, history[-1].tolist())),
                        time.perf_counter() - start,
                        kernel,
                        state,
                        loop.g_up,
                    )
                )
    if rows:
        history = np.concatenate([history, torch.stack(rows).cpu().numpy()])
    loop.g_up.eval()
    return PlaneTraining(
        g_up=loop.g_up,
        raw_kernel=loop.kernel(),
        history={name: history[:, i].copy() for i, name in enumerate(LOSS_NAMES)},
        steps=done,
        stopped=stopped,
        seconds=time.perf_counter() - start,
        stop_reason=reason,
        kernel_state=tracker.final_state() if loop.learn_kernel else fixed_state,
        kernel_change=tracker.change,
    )


def out_of_memory_stop(device: torch.device, done: int) -> str:
    """What to tell the user when a step ran out of memory after ``done`` finished steps.

    A failed step changed no weights (updates come last in ``_Loop.step``), so the
    result of step ``done`` is kept; with nothing done there is nothing to keep.
    """
    if device.type == "cuda":
        torch.cuda.empty_cache()
    what = f"{device.type.upper()} ran out of memory in training step {done + 1}"
    fix = (
        "close other GPU programs or train on the CPU (--device cpu)"
        if device.type == "cuda"
        else "close other programs to free memory"
    )
    if done == 0:
        raise DualSRInputError(f"{what}; {fix}")
    return f"{what}; kept the result of step {done}; to train fully, {fix}"
