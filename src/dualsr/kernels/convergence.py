"""Is the kernel estimate still moving? The engine's answer, step by step.

A blind kernel that has not converged makes G_UP undo the wrong blur (over-sharpening
when it is too wide), so the engine never reports a result without saying whether its
kernel settled. The tracker compares the reported kernel with the one ``window`` steps
earlier; the estimate has *settled* once that change stays under ``tolerance`` (as a
fraction of the kernel's peak).
"""

from __future__ import annotations

from collections import deque

import numpy as np

# What a run says about its kernel: given by the user, still changing, stable, or
# still changing when training ended (the result may then over- or under-sharpen).
KNOWN, SETTLING, SETTLED, NOT_SETTLED = "known", "settling", "settled", "not settled"
KERNEL_STATES = (KNOWN, SETTLING, SETTLED, NOT_SETTLED)


def kernel_change(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference of two kernels as a fraction of ``b``'s peak."""
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(float(np.max(b)), 1e-12))


class KernelTracker:
    """Feeds on ``(step, kernel)`` pairs; ``state`` says whether the kernel settled."""

    def __init__(self, window: int, tolerance: float) -> None:
        self.window, self.tolerance = max(1, window), tolerance
        self._seen: deque[tuple[int, np.ndarray]] = deque()
        self.change = float("nan")  # the latest measured change over ``window`` steps
        self.settled_at: int | None = None  # first step at which the kernel was settled

    def update(self, step: int, kernel: np.ndarray) -> str:
        """Record the kernel after ``step`` steps; returns the state."""
        self._seen.append((step, np.asarray(kernel, dtype=np.float64)))
        while len(self._seen) > 1 and self._seen[1][0] <= step - self.window:
            self._seen.popleft()
        old_step, old = self._seen[0]
        if step - old_step >= self.window:
            self.change = kernel_change(kernel, old)
            if self.change <= self.tolerance:
                self.settled_at = step if self.settled_at is None else self.settled_at
            else:
                self.settled_at = None
        return self.state

    @property
    def state(self) -> str:
        return SETTLED if self.settled_at is not None else SETTLING

    def final_state(self) -> str:
        """The state to report once training has ended."""
        return SETTLED if self.settled_at is not None else NOT_SETTLED
