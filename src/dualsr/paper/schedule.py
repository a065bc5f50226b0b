"""The training schedules: learning-rate decay and the kernel prior's weights.

Kept as a small state machine separate from the loop so it can be tested alone. It
follows the reference implementation's ``Learner`` step for step.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualsr.config import DualSRConfig


@dataclass
class PriorWeights:
    """Current weights of the kernel prior R's terms."""

    bicubic: float
    sum2one: float
    boundaries: float
    centralized: float = 0.0
    sparse: float = 0.0


class Schedule:
    """Updates learning rates and prior weights after each training step."""

    def __init__(self, config: DualSRConfig) -> None:
        self.config = config
        self.weights = PriorWeights(config.reg_bicubic, config.reg_sum2one, config.reg_boundaries)
        self.similar_to_bicubic = False
        self._below_count = 0
        self._constraints_added = False

    def lr_up(self, step: int) -> float:
        """G_UP's learning rate during ``step`` (halved every ``lr_step`` steps)."""
        c = self.config
        return c.lr_up * c.lr_up_gamma ** (step // c.lr_step)

    def lr_down(self, base: float, step: int) -> float:
        """G_DN's / D_DN's learning rate during ``step`` (divided after each ``lr_step``-th)."""
        c = self.config
        return base / c.lr_dn_divisor ** (max(step - 1, 0) // c.lr_step)

    def after_step(self, step: int, bicubic_loss: float) -> None:
        """Update the prior weights once ``step`` has finished (reference ``Learner``)."""
        c, w = self.config, self.weights
        if step == 0:
            return
        if not self.similar_to_bicubic:
            if bicubic_loss < c.reg_bicubic_threshold:
                if self._below_count >= c.reg_bicubic_patience - 1:
                    self.similar_to_bicubic = True
                else:
                    self._below_count += 1
            else:
                self._below_count = 0
        elif step % c.reg_update_every == 0 and w.bicubic > c.reg_bicubic_min:
            w.bicubic = max(w.bicubic / c.reg_bicubic_decay, c.reg_bicubic_min)
            if not self._constraints_added and w.bicubic < c.reg_constraints_below:
                w.centralized = c.reg_centralized_end
                w.sparse = c.reg_sparse_end
                self._constraints_added = True
