"""The training loop around the paper's iteration: reports, stopping, out of memory, the kernel's state.

``train_plane`` runs :class:`dualsr.paper.step.DualSRStep` (or, with a noise model,
:class:`dualsr.noise.step.NoiseAwareStep`) for ``config.iterations`` steps on one normalised
plane (or several of a stack), reports every 10 steps with the kernel's state
(:mod:`dualsr.kernels.convergence`), and stops on request or when a step runs out of memory.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from dualsr.config import DualSRConfig
from dualsr.engine.softening import Softening
from dualsr.errors import DualSRInputError
from dualsr.kernels.convergence import KNOWN, KernelTracker
from dualsr.noise.step import NoiseAwareStep
from dualsr.paper.networks import GeneratorUp
from dualsr.paper.step import LOSS_NAMES, DualSRStep


@dataclass
class StepInfo:
    """What a progress callback receives."""

    step: int  # steps finished
    iterations: int
    losses: dict[str, float]
    seconds: float
    kernel: np.ndarray | None = None  # the kernel as it would be reported now (aligned, sums to 1)
    kernel_state: str = ""  # see dualsr.kernels.convergence: known / settling / settled
    model: torch.nn.Module | None = None  # the live G_UP (read it on the training thread only)
    preview: Callable[..., np.ndarray] | None = None  # set by dualsr.train: the x2 as it is now (inference.preview)


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
    kernel_state: str = KNOWN  # see dualsr.kernels.convergence
    kernel_change: float = float("nan")  # last measured change of the kernel (fraction of its peak)


def make_step(
    image: np.ndarray,
    config: DualSRConfig,
    device: torch.device,
    known_kernel: np.ndarray | None = None,
    clean: np.ndarray | None = None,
    noise: tuple[float, float] | None = None,
) -> DualSRStep:
    """The paper's iteration, or the noise-aware one where ``clean`` and ``noise`` are given (both or neither)."""
    if (clean is None) != (noise is None):
        raise ValueError("a noise model needs both the clean copy and the noise statistics")
    soften = Softening(config.cycle_softening, config.seed) if config.cycle_softening > 0 else None
    if clean is None:
        return DualSRStep(image, config, device, known_kernel, soften)
    return NoiseAwareStep(image, config, device, known_kernel, clean, noise, soften)


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

    ``known_kernel`` (aligned, see :func:`dualsr.paper.kernel.prepare_known_kernel`) fixes
    G_DN; then the GAN and the kernel prior, which only shape G_DN, are skipped, and
    ``fixed_state`` is what the run reports about that kernel (a user's kernel is
    "known"; a closed-form estimate is "settled" or "not settled").
    ``clean`` (the image denoised, same shape) and ``noise`` (gain, offset variance on the
    normalised scale) switch on the noise model of :mod:`dualsr.noise.model`.
    ``should_stop`` is polled every step; a stopped run returns what it has.
    """
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        loop = make_step(image, config, device, known_kernel, clean, noise)
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
    loop: DualSRStep,
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

    A failed step changed no weights (updates come last in ``DualSRStep.step``), so the
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
